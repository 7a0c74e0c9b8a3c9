#include "tailor/data/pseudonymize.hpp"

#include <set>
#include <string>

#include "catch.hpp"
#include "tailor/core/error.hpp"
#include "internal/sha256.hpp"

using tailor::from_hex;
using tailor::detail::hmac_sha256;
using tailor::detail::sha256;
using tailor::detail::to_hex;

TEST_CASE("SHA-256 matches the FIPS 180-2 examples", "[pseudonymize][sha256]") {
  CHECK(to_hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(to_hex(sha256(std::string(1000000, 'a'))) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(to_hex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("SHA-256 incremental updates equal one-shot hashing at every split point", "[pseudonymize][sha256]") {
  std::string msg;
  for (int i = 0; i < 200; ++i) msg.push_back(static_cast<char>('A' + i % 53));
  const auto expected = sha256(msg);
  // Lengths around the 55/56/64-byte padding boundaries are where padding bugs hide.
  for (std::size_t len : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 200u}) {
    const std::string prefix = msg.substr(0, len);
    const auto one_shot = sha256(prefix);
    for (std::size_t cut = 0; cut <= len; cut += 7) {
      tailor::detail::Sha256 h;
      h.update(prefix.substr(0, cut));
      h.update(prefix.substr(cut));
      REQUIRE(h.finish() == one_shot);
    }
  }
  tailor::detail::Sha256 bytewise;
  for (char c : msg) bytewise.update(&c, 1);
  CHECK(bytewise.finish() == expected);
  // finish() resets: the object hashes again from scratch.
  tailor::detail::Sha256 reused;
  reused.update("garbage");
  (void)reused.finish();
  reused.update("abc");
  CHECK(to_hex(reused.finish()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("HMAC-SHA256 matches all RFC 4231 test cases", "[pseudonymize][hmac]") {
  struct Case {
    std::string key;
    std::string data;
    std::string mac;  // hex; case 5 is truncated to 128 bits
  };
  const std::string key131(131, '\xaa');
  const Case cases[] = {
      {std::string(20, '\x0b'), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {from_hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(20, '\x0c'), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
      {key131, "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {key131,
       "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be "
       "hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  int number = 1;
  for (const Case& c : cases) {
    INFO("RFC 4231 test case " << number++);
    const std::string mac = to_hex(hmac_sha256(c.key, c.data));
    CHECK(mac.substr(0, c.mac.size()) == c.mac);
  }
}

TEST_CASE("hex and base64url encodings", "[pseudonymize]") {
  CHECK(from_hex("00ff10Ab") == std::string("\x00\xff\x10\xab", 4));
  CHECK(to_hex(reinterpret_cast<const std::uint8_t*>("\x00\xff\x10\xab"), 4) == "00ff10ab");
  CHECK_THROWS_AS(from_hex("abc"), tailor::Error);
  CHECK_THROWS_AS(from_hex("zz"), tailor::Error);
  // RFC 4648 section 10 vectors (base64 alphabet; these contain no '+' or '/'), without padding.
  auto b64 = [](const std::string& s) { return tailor::detail::to_base64url(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); };
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg");
  CHECK(b64("fo") == "Zm8");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg");
  CHECK(b64("fooba") == "Zm9vYmE");
  CHECK(b64("foobar") == "Zm9vYmFy");
  CHECK(b64("\xfb\xff") == "-_8");  // the two characters that differ from standard base64
}

namespace {
tailor::PseudonymizerOptions options_with_key(std::size_t key_bytes) {
  tailor::PseudonymizerOptions o;
  o.key = std::string(key_bytes, '\0');
  for (std::size_t i = 0; i < key_bytes; ++i) o.key[i] = static_cast<char>(i * 7 + 1);
  return o;
}
}  // namespace

TEST_CASE("Pseudonymizer output is the versioned truncated HMAC", "[pseudonymize]") {
  auto o = options_with_key(32);
  tailor::Pseudonymizer p(o);
  const std::string pid = p.pseudonymize("customer-17850");
  CHECK(pid == "v1:" + to_hex(hmac_sha256(o.key, "customer-17850")).substr(0, 32));
  CHECK(pid.size() == 3 + 32);
  CHECK(p.pseudonymize("customer-17850") == pid);  // deterministic
  CHECK(p.pseudonymize("customer-17851") != pid);
  CHECK(p.looks_pseudonymized(pid));
  CHECK_FALSE(p.looks_pseudonymized("customer-17850"));
  CHECK_FALSE(p.looks_pseudonymized("v2:" + pid.substr(3)));
  // Never a plain hash of the ID.
  CHECK(pid.substr(3) != to_hex(sha256("customer-17850")).substr(0, 32));

  SECTION("a different key or version gives a different pseudonym") {
    auto o2 = o;
    o2.key[5] ^= 1;
    CHECK(tailor::Pseudonymizer(o2).pseudonymize("customer-17850") != pid);
    auto o3 = o;
    o3.key_version = "k2026-11";
    const std::string v = tailor::Pseudonymizer(o3).pseudonymize("customer-17850");
    CHECK(v.rfind("k2026-11:", 0) == 0);
    CHECK(v.substr(9) == pid.substr(3));  // same key, same MAC; the version tells keys apart
  }
  SECTION("full length and base64url") {
    auto full = o;
    full.output_bytes = 32;
    CHECK(tailor::Pseudonymizer(full).pseudonymize("x") == "v1:" + to_hex(hmac_sha256(o.key, "x")));
    auto b = o;
    b.encoding = tailor::PseudonymEncoding::base64url;
    const auto mac = hmac_sha256(o.key, "x");
    const std::string pb = tailor::Pseudonymizer(b).pseudonymize("x");
    CHECK(pb == "v1:" + tailor::detail::to_base64url(mac.data(), 16));
    CHECK(pb.size() == 3 + 22);
    CHECK(tailor::Pseudonymizer(b).looks_pseudonymized(pb));
  }
  SECTION("events: user replaced, anonymous left empty, other fields unchanged") {
    tailor::Event e;
    e.user = "u1";
    e.item = "i1";
    e.session = "s1";
    e.type = tailor::EventType::purchase;
    e.value = 3.0;
    const tailor::Event pe = p.pseudonymize(e);
    CHECK(pe.user == p.pseudonymize(std::string_view("u1")));
    CHECK(pe.item == "i1");
    CHECK(pe.session == "s1");
    CHECK(pe.value == 3.0);
    tailor::Event anon = e;
    anon.user.clear();
    CHECK(p.pseudonymize(anon) == anon);
  }
  SECTION("no collisions among 100k IDs at 128 bits") {
    std::set<std::string> seen;
    for (int i = 0; i < 100000; ++i) seen.insert(p.pseudonymize(std::to_string(i)));
    CHECK(seen.size() == 100000);
  }
  SECTION("copies work the same") {
    tailor::Pseudonymizer copy = p;
    CHECK(copy.pseudonymize("customer-17850") == pid);
  }
}

TEST_CASE("Pseudonymizer rejects short keys and bad options", "[pseudonymize][errors]") {
  auto expect_invalid = [](const tailor::PseudonymizerOptions& o, const std::string& field) {
    try {
      tailor::Pseudonymizer p(o);
      FAIL("accepted bad options");
    } catch (const tailor::Error& e) {
      CHECK(e.code() == tailor::ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).find(field) != std::string::npos);
    }
  };
  expect_invalid(options_with_key(31), "key");
  expect_invalid(options_with_key(20), "key");  // RFC 4231 key sizes are too short for pseudonyms
  expect_invalid(options_with_key(0), "key");
  CHECK_NOTHROW(tailor::Pseudonymizer(options_with_key(32)));
  CHECK_NOTHROW(tailor::Pseudonymizer(options_with_key(131)));
  auto o = options_with_key(32);
  o.output_bytes = 15;
  expect_invalid(o, "output_bytes");
  o.output_bytes = 33;
  expect_invalid(o, "output_bytes");
  o = options_with_key(32);
  o.key_version = "";
  expect_invalid(o, "key_version");
  o.key_version = "v:1";
  expect_invalid(o, "key_version");
  o.key_version = std::string(17, 'v');
  expect_invalid(o, "key_version");
}
