// tailor: the keyed user-ID Pseudonymizer (HMAC-SHA256 from internal/sha256.hpp).
#include "tailor/data/pseudonymize.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "tailor/core/error.hpp"
#include "internal/sha256.hpp"

namespace tailor {

namespace {

bool valid_version_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

std::size_t encoded_length(std::size_t bytes, PseudonymEncoding encoding) {
  return encoding == PseudonymEncoding::hex ? 2 * bytes : (bytes * 8 + 5) / 6;
}

}  // namespace

std::string from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) TAILOR_THROW(invalid_argument, "from_hex: odd length " << hex.size());
  auto nibble = [&](std::size_t pos) -> int {
    const char c = hex[pos];
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    TAILOR_THROW(invalid_argument, "from_hex: position " << pos << ": not a hex digit (code " << static_cast<int>(static_cast<unsigned char>(c)) << ")");
  };
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>((nibble(2 * i) << 4) | nibble(2 * i + 1));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pseudonymizer

void PseudonymizerOptions::validate() const {
  if (key.size() < Pseudonymizer::kMinKeyBytes) {
    TAILOR_THROW(invalid_argument, "PseudonymizerOptions: field 'key' must hold at least " << Pseudonymizer::kMinKeyBytes << " bytes (256 bits), got " << key.size() << " bytes");
  }
  if (key_version.empty() || key_version.size() > 16) {
    TAILOR_THROW(invalid_argument, "PseudonymizerOptions: field 'key_version' must have 1 to 16 characters, got " << key_version.size());
  }
  for (std::size_t i = 0; i < key_version.size(); ++i) {
    if (!valid_version_char(key_version[i])) {
      TAILOR_THROW(invalid_argument, "PseudonymizerOptions: field 'key_version': character " << i << " of '" << key_version << "' is not in [A-Za-z0-9_-]");
    }
  }
  if (output_bytes < Pseudonymizer::kMinOutputBytes || output_bytes > 32) {
    TAILOR_THROW(invalid_argument, "PseudonymizerOptions: field 'output_bytes' must be in [16, 32], got " << output_bytes);
  }
}

Pseudonymizer::Pseudonymizer(const PseudonymizerOptions& options)
    : key_version_(options.key_version), output_bytes_(options.output_bytes), encoding_(options.encoding) {
  options.validate();
  key_ = std::make_shared<const detail::HmacKey>(options.key);
}

Pseudonymizer::~Pseudonymizer() = default;

std::string Pseudonymizer::pseudonymize(std::string_view user_id) const {
  const detail::Sha256Digest mac = key_->mac(user_id);
  std::string out = key_version_;
  out.push_back(':');
  out += encoding_ == PseudonymEncoding::hex ? detail::to_hex(mac.data(), output_bytes_) : detail::to_base64url(mac.data(), output_bytes_);
  return out;
}

Event Pseudonymizer::pseudonymize(Event event) const {
  if (!event.user.empty()) event.user = pseudonymize(std::string_view(event.user));
  return event;
}

bool Pseudonymizer::looks_pseudonymized(std::string_view id) const {
  const std::size_t n = encoded_length(output_bytes_, encoding_);
  if (id.size() != key_version_.size() + 1 + n) return false;
  if (id.substr(0, key_version_.size()) != key_version_ || id[key_version_.size()] != ':') return false;
  for (char c : id.substr(key_version_.size() + 1)) {
    const bool ok = encoding_ == PseudonymEncoding::hex ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
                                                        : (valid_version_char(c));
    if (!ok) return false;
  }
  return true;
}

}  // namespace tailor
