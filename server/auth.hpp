// Bearer-token authentication of lightflusd's routes: with a token configured, every request
// but GET /healthz carries `Authorization: Bearer <token>`. The comparison takes the same time
// wherever the first difference is, so a client cannot guess the token byte by byte.
#pragma once

#include <string>
#include <string_view>

namespace lightflus::server {

/// True when `a == b`, in a time that depends only on their lengths.
bool constantTimeEquals(std::string_view a, std::string_view b) noexcept;

class BearerAuth {
 public:
  /// An empty token lets every request through.
  explicit BearerAuth(std::string token) : token_(std::move(token)) {}
  bool enabled() const noexcept { return !token_.empty(); }
  /// Whether the value of an Authorization header carries the token.
  bool allows(std::string_view authorization) const noexcept;

 private:
  std::string token_;
};

}  // namespace lightflus::server
