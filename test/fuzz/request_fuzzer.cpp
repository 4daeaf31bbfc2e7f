// libFuzzer target: request parsing and routing of lightflusd serve.
//
// Each input is the bytes a client sends. They go through Beast's request parser with the
// daemon's limits (as server/session.cpp reads them), then, when they make a request, through
// the Router of a daemon without a token and one with a token (refuseUnauthorized on the
// header, then handle): route matching, query strings, job envelopes, NDJSON events, errors.
// The registry behind them is real, in a temp dir, with room for no jobs, so a POST /v1/jobs
// is refused before V8 would load anything. Invariants: no crash, a status from 200 to 599,
// and a JSON body on every error.
//
//   build/bin/request_fuzzer -max_total_time=30 test/fuzz/corpus   (ctest runs it for 20 s)
#include <rapidjson/document.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "routes.hpp"

namespace {

namespace fs = std::filesystem;
using namespace lightflus::server;

struct Fixture {
  fs::path dir;
  std::unique_ptr<JobRegistry> registry;
  std::unique_ptr<Router> open;
  std::unique_ptr<Router> secured;

  Fixture() {
    char pattern[] = "/tmp/lightflus-fuzz-XXXXXX";
    if (!::mkdtemp(pattern)) std::abort();
    dir = pattern;
    registry = std::make_unique<JobRegistry>(dir, 0, RunOptions{});
    open = std::make_unique<Router>(*registry, BearerAuth(""));
    secured = std::make_unique<Router>(*registry, BearerAuth("s3cret"));
  }
  ~Fixture() {
    secured.reset();
    open.reset();
    registry.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void check(const Response& response) {
  const unsigned status = response.result_int();
  if (status < 200 || status > 599) std::abort();
  if (status >= 400) {
    rapidjson::Document body;
    if (body.Parse(response.body().c_str()).HasParseError() || !body.IsObject() ||
        !body.HasMember("error") || !body.HasMember("detail"))
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec == http::error::need_more && parser.got_some()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  Request request = parser.release();
  for (const Router* router : {f.open.get(), f.secured.get()}) {
    if (auto refused = router->refuseUnauthorized(request.base())) {
      check(*refused);
      continue;
    }
    check(router->handle(request));
  }
  return 0;
}
