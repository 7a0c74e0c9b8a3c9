#include "tailor/models/text.hpp"

#include <algorithm>
#include <iterator>
#include <cstring>

#include "tailor/core/error.hpp"
#include "internal/random.hpp"

namespace tailor {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFFu;

// Decodes the code point starting at s[i] and sets `length` to the bytes it spans. Returns
// kInvalid with length 1 when s[i] does not start a well-formed sequence (Unicode table 3-7):
// the next call then looks at the following byte, so a bad byte costs exactly one separator.
char32_t decode_utf8(std::string_view s, std::size_t i, std::size_t& length) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  length = 1;
  if (b0 < 0x80) return b0;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  char32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return kInvalid;  // continuation byte, C0/C1 overlong lead, F5..FF
  }
  if (i + n > s.size()) return kInvalid;
  for (std::size_t k = 1; k < n; ++k) {
    const unsigned char b = byte(i + k);
    const unsigned char min = k == 1 ? lo : 0x80;
    const unsigned char max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return kInvalid;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  length = n;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool in(char32_t cp, char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; }

bool is_combining_mark(char32_t cp) { return in(cp, 0x0300, 0x036F); }

// Word characters: see step 2 of the header comment.
bool is_word_char(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  }
  if (cp < 0xC0) return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
  if (cp == 0xD7 || cp == 0xF7) return false;
  if (in(cp, 0x2000, 0x206F)) return false;  // general punctuation and spaces
  if (in(cp, 0x20A0, 0x2BFF)) return false;  // currency ... misc symbols and arrows
  if (in(cp, 0x2E00, 0x2E7F)) return false;  // supplemental punctuation
  if (in(cp, 0x3000, 0x303F)) return false;  // CJK symbols and punctuation
  if (in(cp, 0xFE00, 0xFE0F)) return false;  // variation selectors
  if (in(cp, 0xFE30, 0xFE6F)) return false;  // CJK compatibility and small forms
  if (cp == 0xFEFF) return false;            // byte order mark
  if (in(cp, 0xFF01, 0xFF0F) || in(cp, 0xFF1A, 0xFF20) || in(cp, 0xFF3B, 0xFF40) ||
      in(cp, 0xFF5B, 0xFF65)) {
    return false;  // full-width punctuation
  }
  if (in(cp, 0xFFF0, 0xFFFF)) return false;    // specials, U+FFFD
  if (in(cp, 0x1F000, 0x1FAFF)) return false;  // emoji, pictographs
  if (in(cp, 0xE0000, 0xE007F)) return false;  // tag characters
  return true;
}

char32_t to_lower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (in(cp, 0xC0, 0xDE) && cp != 0xD7) return cp + 0x20;
  if (cp == 0x130) return 'i';  // capital I with dot above
  if (in(cp, 0x100, 0x137) || in(cp, 0x14A, 0x177)) return (cp % 2 == 0) ? cp + 1 : cp;
  if (in(cp, 0x139, 0x148) || in(cp, 0x179, 0x17E)) return (cp % 2 == 1) ? cp + 1 : cp;
  if (cp == 0x178) return 0xFF;
  if (in(cp, 0x391, 0x3A9) && cp != 0x3A2) return cp + 0x20;  // Greek capitals
  if (cp == 0x386) return 0x3AC;
  if (in(cp, 0x388, 0x38A)) return cp + 0x25;
  if (cp == 0x38C) return 0x3CC;
  if (cp == 0x38E || cp == 0x38F) return cp + 0x3F;
  if (cp == 0x3C2) return 0x3C3;                     // final sigma folds to sigma
  if (in(cp, 0x410, 0x42F)) return cp + 0x20;        // Cyrillic capitals
  if (in(cp, 0x400, 0x40F)) return cp + 0x50;
  return cp;
}

// Base letters of U+00C0..U+00FF ('\0' = multi-letter, handled separately).
constexpr char kLatin1Base[] = "AAAAAA\0CEEEEIIIIDNOOOOO\0OUUUUY\0\0aaaaaa\0ceeeeiiiidnooooo\0ouuuuy\0y";
// Base letters of U+0100..U+017F ('?' = multi-letter, handled separately).
constexpr char kLatinExtABase[] =
    "AaAaAaCcCcCcCcDd"
    "DdEeEeEeEeEeGgGg"
    "GgGgHhHhIiIiIiIi"
    "Ii??JjKkkLlLlLlL"
    "lLlNnNnNnnNnOoOo"
    "Oo??RrRrRrSsSsSs"
    "SsTtTtTtUuUuUuUu"
    "UuUuWwYyYZzZzZzs";

// Appends the accent-free spelling of a Latin-1 or Latin Extended-A letter; false if `cp` has none.
bool append_base_letters(std::string& out, char32_t cp) {
  if (in(cp, 0xC0, 0xFF) && cp != 0xD7 && cp != 0xF7) {
    switch (cp) {
      case 0xC6: out += "AE"; return true;
      case 0xE6: out += "ae"; return true;
      case 0xDE: out += "TH"; return true;
      case 0xFE: out += "th"; return true;
      case 0xDF: out += "ss"; return true;
      default: break;
    }
    const char base = kLatin1Base[cp - 0xC0];
    if (base == '\0') return false;
    out.push_back(base);
    return true;
  }
  if (in(cp, 0x100, 0x17F)) {
    switch (cp) {
      case 0x132: out += "IJ"; return true;
      case 0x133: out += "ij"; return true;
      case 0x152: out += "OE"; return true;
      case 0x153: out += "oe"; return true;
      default: break;
    }
    out.push_back(kLatinExtABase[cp - 0x100]);
    return true;
  }
  return false;
}

// Sorted; is_stop_word binary-searches it.
constexpr std::string_view kStopWords[] = {
    "a",        "about",    "above",   "after",      "again",    "against", "all",
    "also",     "am",       "among",   "an",         "and",      "any",     "are",
    "aren",     "as",       "at",      "be",         "because",  "been",    "before",
    "being",    "below",    "between", "both",       "but",      "by",      "can",
    "cannot",   "could",    "couldn",  "did",        "didn",     "do",      "does",
    "doesn",    "doing",    "don",     "down",       "during",   "each",    "either",
    "else",     "etc",      "ever",    "every",      "few",      "for",     "from",
    "further",  "had",      "hadn",    "has",        "hasn",     "have",    "haven",
    "having",   "he",       "her",     "here",       "hers",     "herself", "him",
    "himself",  "his",      "how",     "however",    "i",        "if",      "in",
    "into",     "is",       "isn",     "it",         "its",      "itself",  "just",
    "least",    "less",     "let",     "ll",         "me",       "might",   "more",
    "most",     "must",     "mustn",   "my",         "myself",   "neither", "no",
    "nor",      "not",      "now",     "of",         "off",      "often",   "on",
    "once",     "only",     "or",      "other",      "others",   "ought",   "our",
    "ours",     "ourselves","out",     "over",       "own",      "per",     "quite",
    "rather",   "re",       "same",    "shall",      "shan",     "she",     "should",
    "shouldn",  "since",    "so",      "some",       "such",     "than",    "that",
    "the",      "their",    "theirs",  "them",       "themselves","then",   "there",
    "these",    "they",     "this",    "those",      "though",   "through", "thus",
    "to",       "too",      "under",   "until",      "up",       "upon",    "us",
    "ve",       "very",     "via",     "was",        "wasn",     "we",      "were",
    "weren",    "what",     "when",    "where",      "whether",  "which",   "while",
    "who",      "whom",     "whose",   "why",        "will",     "with",    "within",
    "without",  "won",      "would",   "wouldn",     "yet",      "you",     "your",
    "yours",    "yourself", "yourselves",
};

using detail::mix64;

}  // namespace

void TokenizerOptions::validate() const {
  if (min_token_length < 1) {
    TAILOR_THROW(invalid_argument,
                 "TokenizerOptions::min_token_length must be >= 1, got " << min_token_length);
  }
  if (max_token_length < min_token_length) {
    TAILOR_THROW(invalid_argument, "TokenizerOptions::max_token_length must be >= min_token_length ("
                                       << min_token_length << "), got " << max_token_length);
  }
  if (max_ngram < 1 || max_ngram > 8) {
    TAILOR_THROW(invalid_argument,
                 "TokenizerOptions::max_ngram must be in [1, 8], got " << max_ngram);
  }
}

std::vector<std::string> tokenize(std::string_view text, const TokenizerOptions& options) {
  options.validate();
  std::vector<std::string> tokens;
  std::string current;
  std::size_t current_length = 0;  // code points in `current`
  const auto flush = [&] {
    if (!current.empty() && current_length >= options.min_token_length &&
        current_length <= options.max_token_length &&
        !(options.remove_stop_words && is_stop_word(current))) {
      tokens.push_back(current);
    }
    current.clear();
    current_length = 0;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t length = 1;
    char32_t cp = decode_utf8(text, i, length);
    i += length;
    if (cp == kInvalid || !is_word_char(cp)) {
      flush();
      continue;
    }
    if (is_combining_mark(cp) && options.strip_accents) continue;  // "e" + U+0301 -> "e"
    if (options.lowercase) cp = to_lower(cp);
    const std::size_t before = current.size();
    if (!(options.strip_accents && append_base_letters(current, cp))) append_utf8(current, cp);
    // Count the code points appended (base-letter spellings may add two ASCII letters).
    for (std::size_t k = before; k < current.size(); ++k) {
      if ((static_cast<unsigned char>(current[k]) & 0xC0) != 0x80) ++current_length;
    }
  }
  flush();
  return tokens;
}

std::vector<std::string> word_ngrams(const std::vector<std::string>& tokens, std::size_t max_n) {
  std::vector<std::string> out(tokens);
  for (std::size_t n = 2; n <= max_n && n <= tokens.size(); ++n) {
    for (std::size_t start = 0; start + n <= tokens.size(); ++start) {
      std::string gram = tokens[start];
      for (std::size_t k = 1; k < n; ++k) {
        gram.push_back(' ');
        gram += tokens[start + k];
      }
      out.push_back(std::move(gram));
    }
  }
  return out;
}

std::vector<std::string> tokenize_ngrams(std::string_view text, const TokenizerOptions& options) {
  return word_ngrams(tokenize(text, options), options.max_ngram);
}

bool is_stop_word(std::string_view token) {
  return std::binary_search(std::begin(kStopWords), std::end(kStopWords), token);
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t length = 1;
    const char32_t cp = decode_utf8(text, i, length);
    if (cp == kInvalid) {
      append_utf8(out, 0xFFFD);
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

std::string normalize_label(std::string_view label) {
  std::string out;
  out.reserve(label.size());
  bool pending_space = false;
  std::size_t i = 0;
  while (i < label.size()) {
    std::size_t length = 1;
    char32_t cp = decode_utf8(label, i, length);
    i += length;
    const bool space = cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' ||
                       cp == '\v' || cp == 0xA0 || in(cp, 0x2000, 0x200B) || cp == 0x202F ||
                       cp == 0x205F || cp == 0x3000;
    if (space) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    append_utf8(out, cp == kInvalid ? char32_t{0xFFFD} : to_lower(cp));
  }
  return out;
}

std::uint64_t stable_hash(std::string_view text, std::uint64_t seed) noexcept {
  std::uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a offset basis
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;  // FNV prime
  }
  return mix64(h ^ mix64(seed + detail::kGoldenGamma));
}

}  // namespace tailor
