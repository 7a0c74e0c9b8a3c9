#include "tailor/models/text.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tailor/core/error.hpp"

using tailor::TokenizerOptions;
using tailor::tokenize;
using Tokens = std::vector<std::string>;

namespace {

// True when every token is non-empty, valid UTF-8 and has no ASCII capital.
bool well_formed(const Tokens& tokens) {
  for (const auto& t : tokens) {
    if (t.empty() || tailor::sanitize_utf8(t) != t) return false;
    for (char c : t) {
      if (c >= 'A' && c <= 'Z') return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("tokenize splits on punctuation, folds case, drops stop words and short tokens",
          "[text]") {
  CHECK(tokenize("The WHITE Hanging-Heart T-Light holder!") ==
        Tokens{"white", "hanging", "heart", "light", "holder"});
  CHECK(tokenize("SET OF 3 CAKE TINS, PANTRY design") ==
        Tokens{"set", "cake", "tins", "pantry", "design"});
  CHECK(tokenize("price: 12.50 (incl. 20% VAT)") == Tokens{"price", "12", "50", "incl", "20", "vat"});
  CHECK(tokenize("").empty());
  CHECK(tokenize(" ,;!? ").empty());
  CHECK(tokenize("the and of with a").empty());

  TokenizerOptions keep;
  keep.remove_stop_words = false;
  keep.min_token_length = 1;
  keep.lowercase = false;
  CHECK(tokenize("The Cat and a Hat", keep) == Tokens{"The", "Cat", "and", "a", "Hat"});

  TokenizerOptions long_only;
  long_only.min_token_length = 4;
  long_only.max_token_length = 5;
  CHECK(tokenize("mug teapot cups saucer", long_only) == Tokens{"cups"});

  CHECK(tailor::is_stop_word("the"));
  CHECK(tailor::is_stop_word("yourselves"));
  CHECK(tailor::is_stop_word("with"));
  CHECK_FALSE(tailor::is_stop_word("mug"));
  CHECK_FALSE(tailor::is_stop_word("The"));  // the list is lower-case
}

TEST_CASE("tokenize keeps multi-byte letters whole and folds Latin-1, Greek and Cyrillic",
          "[text][utf8]") {
  // Accent stripping on (default): Latin-1 letters reduce to their base letters.
  CHECK(tokenize("Café CRÈME Brûlée") == Tokens{"cafe", "creme", "brulee"});
  CHECK(tokenize("Straße ÆRØ Œuvre") == Tokens{"strasse", "aero", "oeuvre"});
  CHECK(tokenize("e\xCC\x81t\xC3\xA9") == Tokens{"ete"});  // decomposed é (e + U+0301) and é

  TokenizerOptions accents;
  accents.strip_accents = false;
  CHECK(tokenize("Café CRÈME Brûlée", accents) ==
        Tokens{"caf\xC3\xA9", "cr\xC3\xA8me", "br\xC3\xBBl\xC3\xA9" "e"});
  CHECK(tokenize("ÀÉÎÕÜ Ÿ", accents) == Tokens{"\xC3\xA0\xC3\xA9\xC3\xAE\xC3\xB5\xC3\xBC"});
  CHECK(tokenize("ŁÓDŹ ĞÜL", accents) ==
        Tokens{"\xC5\x82\xC3\xB3" "d\xC5\xBA", "\xC4\x9F\xC3\xBCl"});
  CHECK(tokenize("ΑΘΗΝΑ Москва", accents) ==
        Tokens{"\xCE\xB1\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1",
               "\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"});

  // Scripts without case and without spaces stay whole; symbols and punctuation split.
  CHECK(tokenize("東京タワー") == Tokens{"東京タワー"});
  CHECK(tokenize("red😀mug") == Tokens{"red", "mug"});
  CHECK(tokenize("tea—cup “quoted” 5€ a…b ©brand") == Tokens{"tea", "cup", "quoted", "brand"});
  CHECK(tokenize("non\xC2\xA0" "breaking") == Tokens{"non", "breaking"});  // U+00A0 splits
}

TEST_CASE("tokenize treats ill-formed UTF-8 as separators and never crashes", "[text][utf8]") {
  CHECK(tokenize("ab\xFF" "cd") == Tokens{"ab", "cd"});
  CHECK(tokenize("caf\xC3") == Tokens{"caf"});                  // truncated at the end
  CHECK(tokenize("ab\xC3(cd") == Tokens{"ab", "cd"});           // bad continuation byte
  CHECK(tokenize("ab\xC0\xAF" "cd") == Tokens{"ab", "cd"});     // overlong '/'
  CHECK(tokenize("ab\xED\xA0\x80" "cd") == Tokens{"ab", "cd"}); // UTF-16 surrogate
  CHECK(tokenize("ab\xF4\x90\x80\x80" "cd") == Tokens{"ab", "cd"});  // above U+10FFFF
  CHECK(tokenize("\x80\x80xy\xBF") == Tokens{"xy"});            // lone continuation bytes
  CHECK(tokenize("ab\xE2\x82" "cd") == Tokens{"ab", "cd"});     // truncated 3-byte sequence

  CHECK(tailor::sanitize_utf8("ok\xFFok") == "ok\xEF\xBF\xBDok");
  CHECK(tailor::sanitize_utf8("\xC3\xA9") == "\xC3\xA9");

  // Random bytes, biased toward UTF-8 lead and continuation bytes: every token well-formed.
  std::uint64_t state = 99;
  const auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<unsigned>(state >> 33);
  };
  TokenizerOptions options;
  options.min_token_length = 1;
  options.remove_stop_words = false;
  for (int round = 0; round < 2000; ++round) {
    std::string bytes;
    const unsigned length = next() % 40;
    for (unsigned i = 0; i < length; ++i) {
      const unsigned r = next() % 4;
      bytes.push_back(static_cast<char>(r == 0 ? 'A' + next() % 26
                                        : r == 1 ? 0x80 + next() % 64
                                        : r == 2 ? 0xC0 + next() % 64
                                                 : next() % 256));
    }
    const Tokens tokens = tokenize(bytes, options);
    REQUIRE(well_formed(tokens));
    REQUIRE(well_formed(tailor::word_ngrams(tokens, 3)));
    REQUIRE(tailor::sanitize_utf8(tailor::sanitize_utf8(bytes)) == tailor::sanitize_utf8(bytes));
  }
}

TEST_CASE("word n-grams join consecutive kept tokens", "[text]") {
  CHECK(tailor::word_ngrams({"a", "b", "c"}, 3) ==
        Tokens{"a", "b", "c", "a b", "b c", "a b c"});
  CHECK(tailor::word_ngrams({"a", "b"}, 1) == Tokens{"a", "b"});
  CHECK(tailor::word_ngrams({"a", "b"}, 0) == Tokens{"a", "b"});
  CHECK(tailor::word_ngrams({"a"}, 4) == Tokens{"a"});
  CHECK(tailor::word_ngrams({}, 2).empty());

  // Stop words and short tokens are removed before the n-grams are formed.
  CHECK(tailor::tokenize_ngrams("SET OF 3 CAKE TINS") ==
        Tokens{"set", "cake", "tins", "set cake", "cake tins"});
  TokenizerOptions trigrams;
  trigrams.max_ngram = 3;
  CHECK(tailor::tokenize_ngrams("red tea pot", trigrams) ==
        Tokens{"red", "tea", "pot", "red tea", "tea pot", "red tea pot"});
}

TEST_CASE("normalize_label trims, collapses white space and folds case", "[text]") {
  CHECK(tailor::normalize_label("  Home   D\xC3\x89" "COR ") == "home d\xC3\xA9" "cor");
  CHECK(tailor::normalize_label("Kitchen\t&\nDining") == "kitchen & dining");
  CHECK(tailor::normalize_label("") == "");
  CHECK(tailor::normalize_label(" \xC2\xA0 ") == "");
  CHECK(tailor::normalize_label("A\xFF" "B") == "a\xEF\xBF\xBD" "b");
}

TEST_CASE("stable_hash is pinned across platforms and depends on the seed", "[text]") {
  // Values from an independent implementation of FNV-1a 64 + the SplitMix64 finaliser.
  CHECK(tailor::stable_hash("", 0) == 0xaebe53f85cdc3c4cull);
  CHECK(tailor::stable_hash("mug", 0) == 0xdf67f6b67b0d8354ull);
  CHECK(tailor::stable_hash("mug", 42) == 0x1788602cf4c047fcull);
  CHECK(tailor::stable_hash("caf\xC3\xA9", 7) == 0x3c71994e611a7adeull);
}

TEST_CASE("TokenizerOptions::validate names the bad field", "[text]") {
  const auto fails_with = [](TokenizerOptions o, const std::string& field) {
    try {
      o.validate();
    } catch (const tailor::Error& e) {
      CHECK(e.code() == tailor::ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).find(field) != std::string::npos);
      return;
    }
    FAIL("no error for " << field);
  };
  TokenizerOptions o;
  o.min_token_length = 0;
  fails_with(o, "min_token_length");
  o = {};
  o.max_token_length = 1;
  fails_with(o, "max_token_length");
  o = {};
  o.max_ngram = 0;
  fails_with(o, "max_ngram");
  o.max_ngram = 9;
  fails_with(o, "max_ngram");
  o.max_ngram = 9;
  CHECK_THROWS_AS(tokenize("x", o), tailor::Error);
}
