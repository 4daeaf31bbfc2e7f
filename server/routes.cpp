#include "routes.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include <boost/asio/ip/address_v4.hpp>

#include "console.hpp"
#include "job_json.hpp"
#include "job_protocol.hpp"
#include "lightflus/error.hpp"
#include "prometheus.hpp"
#include "source_map.hpp"

namespace lightflus::server {

namespace {

using Writer = JsonWriter;

// How long a POST of events waits for a backpressured job to make room before a 503.
constexpr std::chrono::milliseconds kIngestTimeout{5000};

// A JSON string literal of `text`.
std::string jsonQuoted(std::string_view text) {
  return jsonString(text);
}

int fromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A query-string component with %XX and '+' decoded.
std::string percentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() + 0 && fromHex(text[i + 1]) >= 0 &&
               fromHex(text[i + 2]) >= 0) {
      out += static_cast<char>(fromHex(text[i + 1]) * 16 + fromHex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    pairs.emplace_back(percentDecode(pair.substr(0, eq)),
                       eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1)));
  }
  return pairs;
}

int parseParallelism(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1)
    throw JobRegistryError(
        JobRegistryError::Reason::kInvalid,
        "parallelism expects a number of at least 1, got '" + std::string(text) + "'");
  return value;
}

// The envelope's "sourceMap" (a source map as a JSON object, or as a string) as JSON text,
// checked, so that a broken map is a 400 now rather than a job that fails to load.
std::string sourceMapOf(const rapidjson::Value& value, bool javascript) {
  if (!javascript)
    throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                           "\"sourceMap\" goes with JavaScript (\"language\": \"js\"); the "
                           "daemon maps TypeScript it transpiles itself");
  std::string text;
  if (value.IsString()) {
    text = value.GetString();
  } else {
    rapidjson::StringBuffer buffer;
    Writer out(buffer);
    value.Accept(out);
    text = buffer.GetString();
  }
  try {
    js::SourceMap::fromJson(text);
  } catch (const Error& e) {
    throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                           std::string("\"sourceMap\" is not usable: ") + e.what());
  }
  return text;
}

// The job a POST /v1/jobs submits: a JSON envelope or the source with a query string.
JobSpec jobSpecOf(const Request& request, std::string_view query) {
  JobSpec spec;
  std::string_view type = toStringView(request[http::field::content_type]);
  for (const auto& [key, value] : parseQuery(query)) {
    if (key == "name")
      spec.name = value;
    else if (key == "parallelism")
      spec.parallelism = parseParallelism(value);
    else if (key == "language")
      spec.javascript = value == "js" || value == "javascript";
    else if (key == "from")
      spec.from = value;
    else if (key == "allowNonRestoredState")
      spec.allow_non_restored_state = value == "true" || value == "1" || value.empty();
    else if (key.starts_with("param.") && key.size() > 6)
      spec.params[key.substr(6)] = value;
  }
  if (type.find("javascript") != std::string_view::npos) spec.javascript = true;
  if (type.find("application/json") == std::string_view::npos) {
    spec.source = request.body();
    return spec;
  }
  rapidjson::Document envelope;
  if (envelope.Parse(request.body().c_str()).HasParseError() || !envelope.IsObject() ||
      !envelope.HasMember("source") || !envelope["source"].IsString())
    throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                           "a JSON body is an envelope {\"name\", \"source\", \"params\", "
                           "\"parallelism\", \"language\", \"sourceMap\", \"original\"} with "
                           "the job's "
                           "source as a string");
  spec.source = envelope["source"].GetString();
  if (envelope.HasMember("name") && envelope["name"].IsString())
    spec.name = envelope["name"].GetString();
  if (envelope.HasMember("parallelism")) {
    if (!envelope["parallelism"].IsInt() || envelope["parallelism"].GetInt() < 1)
      throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                             "parallelism expects a number of at least 1");
    spec.parallelism = envelope["parallelism"].GetInt();
  }
  if (envelope.HasMember("from") && envelope["from"].IsString())
    spec.from = envelope["from"].GetString();
  if (envelope.HasMember("allowNonRestoredState"))
    spec.allow_non_restored_state = envelope["allowNonRestoredState"].IsTrue();
  if (envelope.HasMember("language") && envelope["language"].IsString())
    spec.javascript = std::string_view(envelope["language"].GetString()) == "js";
  if (envelope.HasMember("sourceMap") && !envelope["sourceMap"].IsNull())
    spec.source_map = sourceMapOf(envelope["sourceMap"], spec.javascript);
  if (envelope.HasMember("original") && !envelope["original"].IsNull()) {
    // The user's file the source was made from, for people to read (never run).
    const auto& original = envelope["original"];
    if (!original.IsObject() || !original.HasMember("file") || !original["file"].IsString() ||
        original["file"].GetStringLength() == 0 || !original.HasMember("source") ||
        !original["source"].IsString())
      throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                             "\"original\" expects {\"file\": NAME, \"source\": TEXT}: the "
                             "file the job's source was made from");
    spec.original_file = original["file"].GetString();
    // Shown in pages and sent back in a header: a short name of printable characters.
    if (spec.original_file.size() > 255 ||
        std::any_of(spec.original_file.begin(), spec.original_file.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
      throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                             "\"original\".file must be a file name of at most 255 printable "
                             "characters");
    spec.original_source.assign(original["source"].GetString(),
                                original["source"].GetStringLength());
  }
  if (envelope.HasMember("params") && envelope["params"].IsObject()) {
    for (const auto& param : envelope["params"].GetObject()) {
      if (param.value.IsString()) {
        spec.params[param.name.GetString()] = param.value.GetString();
      } else {
        rapidjson::StringBuffer buffer;
        Writer out(buffer);
        param.value.Accept(out);
        spec.params[param.name.GetString()] = buffer.GetString();
      }
    }
  }
  return spec;
}

http::status statusOf(JobRegistryError::Reason reason) {
  switch (reason) {
    case JobRegistryError::Reason::kInvalid:
      return http::status::bad_request;
    case JobRegistryError::Reason::kNameTaken:
      return http::status::conflict;
    case JobRegistryError::Reason::kTooManyJobs:
      return http::status::too_many_requests;
    case JobRegistryError::Reason::kNotFound:
      return http::status::not_found;
    case JobRegistryError::Reason::kNotRunning:
      return http::status::conflict;
    case JobRegistryError::Reason::kBusy:
      return http::status::service_unavailable;
  }
  return http::status::internal_server_error;
}

// The records of a POST /v1/jobs/{id}/events body: NDJSON (application/x-ndjson: one JSON
// value per non-blank line), or JSON (a JSON array is a list of records, anything else one
// record). All or nothing: a malformed record rejects the whole body, naming its line.
std::vector<Value> parseEvents(const Request& request) {
  std::string_view type = toStringView(request[http::field::content_type]);
  const std::string& body = request.body();
  std::vector<Value> records;
  auto parse = [](std::string_view text, std::string_view where) {
    try {
      return Value::parseJson(text);
    } catch (const std::exception& e) {
      throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                             std::string(where) + ": " + e.what() + "; no record was taken");
    }
  };
  if (type.find("ndjson") != std::string_view::npos ||
      type.find("jsonlines") != std::string_view::npos) {
    std::string_view rest = body;
    for (std::size_t line = 1; !rest.empty(); ++line) {
      auto newline = rest.find('\n');
      std::string_view text = rest.substr(0, newline);
      rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
      if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      records.push_back(parse(text, fmt::format("line {} of the NDJSON body", line)));
    }
    return records;
  }
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    throw JobRegistryError(JobRegistryError::Reason::kInvalid,
                           "the body is empty: send a JSON record, a JSON array of records, or "
                           "NDJSON with Content-Type: application/x-ndjson");
  Value value = parse(body, "the JSON body");
  if (!value.isArray()) {
    records.push_back(std::move(value));
    return records;
  }
  for (const Value& record : value.asArray()) records.push_back(record);
  return records;
}

// The query string of the request's target (after '?'; empty without one).
std::string_view queryOf(const Request& request) {
  std::string_view target = toStringView(request.target());
  auto question = target.find('?');
  return question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
}

// Whether the query string sets flag `name` ("?name", "?name=true" or "?name=1").
bool queryFlag(const Request& request, std::string_view name) {
  bool on = false;
  for (const auto& [key, value] : parseQuery(queryOf(request)))
    if (key == name) on = value == "true" || value == "1" || value.empty();
  return on;
}

// Whether `path` matches `pattern`; fills `id` with the segment matching "{id}".
bool matches(std::string_view pattern, std::string_view path, std::string& id) {
  while (!pattern.empty() && !path.empty()) {
    auto p_end = pattern.find('/', 1);
    auto s_end = path.find('/', 1);
    std::string_view p = pattern.substr(0, p_end);
    std::string_view s = path.substr(0, s_end);
    if (p == "/{id}") {
      if (s.size() < 2) return false;
      id = std::string(s.substr(1));
    } else if (p != s) {
      return false;
    }
    pattern = p_end == std::string_view::npos ? std::string_view{} : pattern.substr(p_end);
    path = s_end == std::string_view::npos ? std::string_view{} : path.substr(s_end);
  }
  return pattern.empty() && path.empty();
}

Response unauthorized() {
  Response response = errorResponse(http::status::unauthorized,
                                    "this route needs the header Authorization: Bearer TOKEN");
  response.set(http::field::www_authenticate, "Bearer");
  return response;
}

}  // namespace

Router::Router(JobRegistry& registry, BearerAuth auth)
    : registry_(registry), auth_(std::move(auth)) {
  auto plain = [this](Response (Router::*f)(const Request&) const) -> Handler {
    return [this, f](const Request& request, const std::string&) { return (this->*f)(request); };
  };
  auto with_id = [this](Response (Router::*f)(const Request&, const std::string&)
                            const) -> Handler {
    return [this, f](const Request& request, const std::string& id) {
      return (this->*f)(request, id);
    };
  };
  routes_ = {
      {http::verb::get, "/healthz", false, plain(&Router::health)},
      // The web console's files hold no data: they load without the token, then ask for it.
      {http::verb::get, "/", false, plain(&Router::consoleIndex)},
      {http::verb::get, "/console/{id}", false, with_id(&Router::consoleAsset)},
      {http::verb::get, "/metrics", true, plain(&Router::metrics)},
      {http::verb::get, "/v1/jobs", true, plain(&Router::listJobs)},
      {http::verb::post, "/v1/jobs", true, plain(&Router::createJob)},
      {http::verb::get, "/v1/jobs/{id}", true, with_id(&Router::getJob)},
      {http::verb::delete_, "/v1/jobs/{id}", true, with_id(&Router::deleteJob)},
      {http::verb::post, "/v1/jobs/{id}/events", true, with_id(&Router::postEvents)},
      {http::verb::post, "/v1/jobs/{id}/savepoint", true, with_id(&Router::savepoint)},
      {http::verb::post, "/v1/jobs/{id}/stop", true, with_id(&Router::stopJob)},
      {http::verb::get, "/v1/jobs/{id}/source", true, with_id(&Router::jobSource)},
  };
}

Response Router::handle(const Request& request) const {
  Response response = [&] {
    try {
      return dispatch(request);
    } catch (const JobRegistryError& e) {
      Response response = errorResponse(statusOf(e.reason()), e.what());
      if (e.reason() == JobRegistryError::Reason::kBusy)
        response.set(http::field::retry_after, "1");
      return response;
    } catch (const UserCodeError& e) {
      return errorResponse(http::status::bad_request, e.what());
    } catch (const ConfigError& e) {
      return errorResponse(http::status::bad_request, e.what());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lightflusd: %s %s: %s\n", std::string(request.method_string()).c_str(),
                   std::string(request.target()).c_str(), e.what());
      return errorResponse(http::status::internal_server_error, e.what());
    }
  }();
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  return response;
}

namespace {
// The host part of a Host header ("127.0.0.1:8080", "[::1]:80", "localhost").
std::string_view hostName(std::string_view host) {
  if (host.starts_with('[')) return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

bool isLoopbackName(std::string_view name) {
  if (name == "localhost" || name == "[::1]") return true;
  if (!name.starts_with("127.")) return false;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address_v4(std::string(name), ec);
  return !ec && address.is_loopback();
}

Response forbidden(std::string why) {
  return errorResponse(http::status::forbidden,
                       std::move(why) + " (a daemon without --token serves only its own host; " +
                           "start it with --token to serve others)");
}
}  // namespace

std::optional<Response> Router::refuseForeign(const http::request_header<>& header) const {
  std::string_view host = toStringView(header[http::field::host]);
  if (!host.empty() && !isLoopbackName(hostName(host)))
    return forbidden("the Host header names '" + std::string(host) +
                     "', not a loopback address (127.0.0.1, [::1], localhost)");
  std::string_view origin = toStringView(header[http::field::origin]);
  const bool reads = header.method() == http::verb::get || header.method() == http::verb::head;
  if (!reads && !origin.empty() && origin != "http://" + std::string(host))
    return forbidden("a " + std::string(header.method_string()) + " from the web page at '" +
                     std::string(origin) + "'");
  return std::nullopt;
}

std::optional<Response> Router::refuseUnauthorized(const http::request_header<>& header) const {
  if (!auth_.enabled()) {
    auto refusal = refuseForeign(header);
    if (refusal) {
      refusal->version(header.version());
      refusal->keep_alive(false);  // its body, if any, stays unread
    }
    return refusal;
  }
  if (auth_.allows(toStringView(header[http::field::authorization]))) return std::nullopt;
  std::string_view target = toStringView(header.target());
  std::string_view path = target.substr(0, target.find('?'));
  for (const Route& route : routes_) {
    std::string id;
    if (!route.needs_token && route.method == header.method() && matches(route.pattern, path, id))
      return std::nullopt;
  }
  Response response = unauthorized();
  response.version(header.version());
  response.keep_alive(false);  // its body, if any, stays unread
  return response;
}

Response Router::dispatch(const Request& request) const {
  std::string_view target = toStringView(request.target());
  auto question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string allowed;
  // HEAD is a GET without the body: the same status and headers, Content-Length included.
  const bool head = request.method() == http::verb::head;
  for (const Route& route : routes_) {
    std::string id;
    if (!matches(route.pattern, path, id)) continue;
    if (head && route.method == http::verb::get) {
      if (route.needs_token && !auth_.allows(toStringView(request[http::field::authorization])))
        return unauthorized();
      Response response = route.handler(request, id);
      const auto length = response.body().size();
      response.body().clear();
      response.content_length(length);
      return response;
    }
    if (route.method != request.method()) {
      if (!allowed.empty()) allowed += ", ";
      allowed += std::string(http::to_string(route.method));
      continue;
    }
    if (route.needs_token && !auth_.allows(toStringView(request[http::field::authorization])))
      return unauthorized();
    return route.handler(request, id);
  }
  if (!allowed.empty()) {
    Response response =
        errorResponse(http::status::method_not_allowed, std::string(request.method_string()) +
                                                            " is not allowed here; use " + allowed);
    response.set(http::field::allow, allowed);
    return response;
  }
  return errorResponse(http::status::not_found, "no route for " + std::string(path));
}

Response Router::health(const Request&) const {
  return jsonResponse(http::status::ok, R"({"status":"ok"})");
}

Response Router::consoleIndex(const Request& request) const {
  return consoleFile(request, "index.html");
}

Response Router::consoleAsset(const Request& request, const std::string& name) const {
  return consoleFile(request, name);
}

Response Router::metrics(const Request&) const {
  Response response{http::status::ok, 11};
  response.set(http::field::content_type, "text/plain; version=0.0.4");
  response.body() = prometheusText(registry_.list());
  response.prepare_payload();
  return response;
}

Response Router::listJobs(const Request&) const {
  rapidjson::StringBuffer buffer;
  Writer out(buffer);
  out.StartObject();
  out.Key("jobs");
  out.StartArray();
  for (const JobInfo& job : registry_.list()) writeJob(out, job, false);
  out.EndArray();
  out.EndObject();
  return jsonResponse(http::status::ok, buffer.GetString());
}

Response Router::createJob(const Request& request) const {
  std::string_view target = toStringView(request.target());
  auto question = target.find('?');
  std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  JobInfo job = registry_.create(jobSpecOf(request, query));
  Response response = jsonResponse(http::status::created, jobJson(job, false));
  response.set(http::field::location, "/v1/jobs/" + job.id);
  return response;
}

Response Router::getJob(const Request&, const std::string& id) const {
  std::optional<JobInfo> job = registry_.get(id);
  if (!job) return errorResponse(http::status::not_found, "no job with id '" + id + "'");
  return jsonResponse(http::status::ok, jobJson(*job, true));
}

Response Router::postEvents(const Request& request, const std::string& id) const {
  std::string_view target = toStringView(request.target());
  auto question = target.find('?');
  std::string source;
  if (question != std::string_view::npos)
    for (const auto& [key, value] : parseQuery(target.substr(question + 1)))
      if (key == "source") source = value;
  std::vector<Value> records = parseEvents(request);
  const std::size_t count = records.size();
  if (count > 0) registry_.ingest(id, source, std::move(records), kIngestTimeout);
  return jsonResponse(http::status::ok, fmt::format(R"({{"accepted":{}}})", count));
}

Response Router::savepoint(const Request&, const std::string& id) const {
  std::string path = registry_.savepoint(id);
  return jsonResponse(http::status::ok, fmt::format(R"({{"savepoint":{}}})", jsonQuoted(path)));
}

Response Router::stopJob(const Request& request, const std::string& id) const {
  bool with_savepoint = queryFlag(request, "savepoint");
  std::string path;
  JobInfo job = registry_.stop(id, with_savepoint ? &path : nullptr);
  return jsonResponse(http::status::ok,
                      fmt::format(R"({{"status":{},"savepoint":{}}})", jsonQuoted(job.status),
                                  with_savepoint ? jsonQuoted(path) : std::string("null")));
}

Response Router::jobSource(const Request& request, const std::string& id) const {
  auto source = registry_.source(id, queryFlag(request, "original"));
  if (!source) return errorResponse(http::status::not_found, "no job with id '" + id + "'");
  Response response{http::status::ok, 11};
  response.set(http::field::server, "lightflusd");
  // Plain text, never run or rendered by a browser that opens it.
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Lightflus-Source-File", source->file);
  response.body() = std::move(source->text);
  response.prepare_payload();
  return response;
}

Response Router::deleteJob(const Request& request, const std::string& id) const {
  if (queryFlag(request, "savepoint")) {
    // Stop with a savepoint: the sources stop at it, then the job is removed.
    std::string path = registry_.savepoint(id, /*suspend=*/true);
    registry_.remove(id);
    return jsonResponse(http::status::ok, fmt::format(R"({{"savepoint":{}}})", jsonQuoted(path)));
  }
  if (!registry_.remove(id))
    return errorResponse(http::status::not_found, "no job with id '" + id + "'");
  Response response{http::status::no_content, 11};
  response.prepare_payload();
  return response;
}

}  // namespace lightflus::server
