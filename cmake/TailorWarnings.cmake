# tailor_set_warnings(target): the warning flags every tailor target is built with.
function(tailor_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${TAILOR_WARNINGS_AS_ERRORS}>:/WX>)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
      $<$<BOOL:${TAILOR_WARNINGS_AS_ERRORS}>:-Werror>)
  endif()
endfunction()
