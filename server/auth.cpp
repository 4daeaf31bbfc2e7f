#include "auth.hpp"

namespace lightflus::server {

bool constantTimeEquals(std::string_view a, std::string_view b) noexcept {
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

bool BearerAuth::allows(std::string_view authorization) const noexcept {
  if (token_.empty()) return true;
  constexpr std::string_view kScheme = "Bearer ";
  if (!authorization.starts_with(kScheme)) return false;
  return constantTimeEquals(authorization.substr(kScheme.size()), token_);
}

}  // namespace lightflus::server
