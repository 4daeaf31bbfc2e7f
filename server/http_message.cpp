#include "http_message.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace lightflus::server {

Response jsonResponse(http::status status, std::string body, unsigned version, bool keep_alive) {
  Response response{status, version};
  response.set(http::field::server, "lightflusd");
  response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response errorResponse(http::status status, std::string_view detail, unsigned version,
                       bool keep_alive) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  out.StartObject();
  out.Key("error");
  std::string_view reason = toStringView(http::obsolete_reason(status));
  out.String(reason.data(), static_cast<rapidjson::SizeType>(reason.size()));
  out.Key("detail");
  out.String(detail.data(), static_cast<rapidjson::SizeType>(detail.size()));
  out.EndObject();
  return jsonResponse(status, buffer.GetString(), version, keep_alive);
}

}  // namespace lightflus::server
