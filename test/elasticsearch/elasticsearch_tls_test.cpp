// The Elasticsearch sink over HTTPS: BulkServer with a self-signed certificate made by the
// openssl command in a temporary directory.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "bulk_server.hpp"
#include "lightflus/connectors/elasticsearch.hpp"
#include "lightflus/lightflus.hpp"

using namespace lightflus;
using namespace lightflus::test;
namespace fs = std::filesystem;

namespace {

// A self-signed certificate for localhost and 127.0.0.1, in a directory removed at the end.
struct Certificate {
  fs::path dir;
  std::string certificate, key;
  Certificate() {
    std::string pattern = (fs::temp_directory_path() / "lightflus-es-tls-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    certificate = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
        key + "' -out '" + certificate + "' 2>/dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
  }
  ~Certificate() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::vector<Value> numbered(int count) {
  std::vector<Value> all;
  for (int n = 0; n < count; ++n) {
    Value v = Value::object();
    v["n"] = n;
    all.push_back(v);
  }
  return all;
}

}  // namespace

TEST_CASE("over HTTPS every document arrives, the server verified against the given CA",
          "[elasticsearch][tls]") {
  Certificate certificate;
  BulkServer server(BulkServer::Tls{certificate.certificate, certificate.key});
  REQUIRE(server.url().rfind("https://localhost:", 0) == 0);
  ElasticsearchSinkOptions options{.host = server.url(), .index = "secure"};
  options.ca_file = certificate.certificate;
  options.max_actions = 50;
  ExecutionContext ctx("es-https");
  writeElasticsearch(ctx.fromCollection(numbered(300)), options).parallelism(2);
  ctx.execute();
  std::vector<std::int64_t> seen;
  for (const auto& d : server.documents()) seen.push_back(d.source["n"].asInt());
  std::sort(seen.begin(), seen.end());
  std::vector<std::int64_t> expected;
  for (int n = 0; n < 300; ++n) expected.push_back(n);
  REQUIRE(seen == expected);
  REQUIRE(server.formatErrors().empty());
}

TEST_CASE("over HTTPS an untrusted certificate fails the job with the TLS error",
          "[elasticsearch][tls]") {
  Certificate certificate;
  BulkServer server(BulkServer::Tls{certificate.certificate, certificate.key});
  ElasticsearchSinkOptions options{.host = server.url(), .index = "secure"};
  options.retry_timeout = Duration(200);
  options.initial_backoff = Duration(10);
  ExecutionContext ctx("es-https-untrusted");
  writeElasticsearch(ctx.fromCollection(numbered(10)), options);
  REQUIRE_THROWS_WITH(ctx.execute(), Catch::Contains("TLS handshake with https://localhost:") &&
                                         Catch::Contains("certificate verify failed"));
  REQUIRE(server.documents().empty());
}
