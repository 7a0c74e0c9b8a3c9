// tailor: text normalisation for content features: a UTF-8 tokenizer, English stop words, word
// n-grams and a stable string hash.
//
// tokenize() turns free text (product titles, descriptions, tags) into word tokens:
//   1. The bytes are decoded as UTF-8. A byte that does not start a well-formed sequence
//      (stray continuation byte, truncated or overlong sequence, surrogate, code point above
//      U+10FFFF) is a separator, like a space: bad input never crashes and never produces bytes
//      that are not valid UTF-8.
//   2. Word characters are ASCII letters and digits and every code point at or above U+0080 that
//      is not punctuation, a symbol or a space in the ranges we know (Latin-1 punctuation and
//      symbols U+0080..U+00BF except the letters ª µ º, the multiplication and division signs,
//      general punctuation U+2000..U+206F, currency, arrows, mathematical and technical symbols,
//      box drawing and dingbats U+20A0..U+2BFF, CJK punctuation U+3000..U+303F, full-width ASCII
//      punctuation, emoji U+1F000..U+1FAFF, variation selectors, the BOM). Everything else
//      (ASCII punctuation, spaces, control characters) splits words. So "t-light" gives "t" and
//      "light", and "café—crème" gives "café" and "crème".
//   3. Case folding (TokenizerOptions::lowercase): ASCII, Latin-1 (À..Þ), Latin Extended-A
//      (U+0100..U+017F), Greek and Cyrillic capitals map to lower case; other letters are kept.
//      With strip_accents, the Latin-1 letters with diacritics also lose them (é -> e, ß -> ss,
//      æ -> ae, ø -> o), so "Café" and "cafe" meet.
//   4. Tokens shorter than min_token_length code points, and English stop words (when
//      remove_stop_words is set; the list is lower-case, so it applies after folding), are dropped.
// word_ngrams() then adds the n-grams (n = 2..max_n) of consecutive kept tokens, joined by a
// single space ("cake tins"). N-grams never span two separate calls (e.g. title and description).
//
// Thread-safety: pure functions without shared state; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/core/export.hpp"

namespace tailor {

/// Options of tokenize() and tokenize_ngrams().
struct TAILOR_API TokenizerOptions {
  bool lowercase = true;            ///< fold ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic
  bool strip_accents = true;        ///< fold Latin-1 accented letters to their base letters
  bool remove_stop_words = true;    ///< drop English stop words (see is_stop_word)
  std::size_t min_token_length = 2; ///< in code points, >= 1
  std::size_t max_token_length = 64;///< in code points; longer tokens are dropped; >= min
  std::size_t max_ngram = 2;        ///< word n-grams up to this n, 1..8 (1 = single words only)

  /// Throws Error(invalid_argument) naming the field out of range.
  void validate() const;

  friend bool operator==(const TokenizerOptions& a, const TokenizerOptions& b) {
    return a.lowercase == b.lowercase && a.strip_accents == b.strip_accents &&
           a.remove_stop_words == b.remove_stop_words &&
           a.min_token_length == b.min_token_length &&
           a.max_token_length == b.max_token_length && a.max_ngram == b.max_ngram;
  }
  friend bool operator!=(const TokenizerOptions& a, const TokenizerOptions& b) {
    return !(a == b);
  }
};

/// The word tokens of `text` in order (steps 1-4 of the file comment). Each token is valid UTF-8.
///
/// **Example**:
///   tokenize("The WHITE Hanging-Heart T-Light holder!")  // {"white", "hanging", "heart",
///                                                        //  "light", "holder"}
TAILOR_API std::vector<std::string> tokenize(std::string_view text,
                                             const TokenizerOptions& options = {});

/// `tokens` followed by every n-gram of 2..max_n consecutive tokens (joined by one space), in
/// order of n, then position. max_n 0 or 1 returns the tokens unchanged.
TAILOR_API std::vector<std::string> word_ngrams(const std::vector<std::string>& tokens,
                                                std::size_t max_n);

/// tokenize() then word_ngrams(options.max_ngram): the terms the content encoder hashes.
TAILOR_API std::vector<std::string> tokenize_ngrams(std::string_view text,
                                                    const TokenizerOptions& options = {});

/// True for a lower-case English stop word ("the", "and", "of", "with", ...; about 180 words:
/// articles, pronouns, auxiliaries, prepositions, conjunctions and a few frequent adverbs).
TAILOR_API bool is_stop_word(std::string_view token);

/// `text` with every ill-formed UTF-8 byte replaced by U+FFFD, so the result is valid UTF-8.
TAILOR_API std::string sanitize_utf8(std::string_view text);

/// A category, brand or attribute value in canonical form: ill-formed UTF-8 replaced by U+FFFD,
/// leading and trailing white space removed, inner runs of white space collapsed to one ASCII
/// space, letters case-folded as tokenize() does (accents and punctuation kept).
/// normalize_label("  Home   DÉCOR ") == "home décor".
TAILOR_API std::string normalize_label(std::string_view label);

/// A 64-bit hash of `text` with `seed` that is the same on every platform and run (unlike
/// std::hash): FNV-1a over the bytes, then a SplitMix64 finaliser mixing in the seed.
TAILOR_API std::uint64_t stable_hash(std::string_view text, std::uint64_t seed = 0) noexcept;

}  // namespace tailor
