// Uses the installed library the way a host backend would: umbrella header, a few calls.
#include <tailor/tailor.hpp>

#include <cstring>
#include <iostream>

int main() {
  tailor::IdMap users;
  const auto a = users.insert("alice");
  const auto b = users.insert("bob");
  if (a != 0 || b != 1 || users.at("bob") != 1) return 1;
  if (std::strcmp(tailor::library_version(), tailor::version_string()) != 0) {
    std::cerr << "header/library version mismatch\n";
    return 1;
  }
  std::cout << "tailor " << tailor::library_version() << " linked; " << users.size() << " users\n";
  return 0;
}
