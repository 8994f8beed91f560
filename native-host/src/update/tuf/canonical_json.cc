#include "update/tuf/canonical_json.h"

#include <algorithm>
#include <string_view>
#include <vector>

namespace bellwether::tuf {
namespace {

void AppendString(std::string_view s, std::string& out) {
  out.push_back('"');
  for (char c : s) {
    // OLPC canonical JSON escapes only the quote and the backslash; every
    // other byte (control characters and UTF-8 included) is literal.
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

Status Append(const nlohmann::json& value, int depth, std::string& out) {
  if (depth > kMaxCanonicalJsonDepth) {
    return {ErrorCode::kUpdateVerification, "canonical JSON: nesting too deep"};
  }
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      out += "null";
      return Status::Ok();
    case nlohmann::json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return Status::Ok();
    case nlohmann::json::value_t::number_integer:
      out += std::to_string(value.get<std::int64_t>());
      return Status::Ok();
    case nlohmann::json::value_t::number_unsigned:
      out += std::to_string(value.get<std::uint64_t>());
      return Status::Ok();
    case nlohmann::json::value_t::number_float:
      return {ErrorCode::kUpdateVerification,
              "canonical JSON: floating-point numbers are not allowed"};
    case nlohmann::json::value_t::string:
      AppendString(value.get_ref<const std::string&>(), out);
      return Status::Ok();
    case nlohmann::json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value) {
        if (!first) out.push_back(',');
        first = false;
        BW_RETURN_IF_ERROR(Append(element, depth + 1, out));
      }
      out.push_back(']');
      return Status::Ok();
    }
    case nlohmann::json::value_t::object: {
      // nlohmann::json keeps keys in a std::map already, but sort explicitly
      // by unsigned bytes so the order never depends on the map's comparator.
      std::vector<const std::string*> keys;
      keys.reserve(value.size());
      for (auto it = value.begin(); it != value.end(); ++it) keys.push_back(&it.key());
      std::sort(keys.begin(), keys.end(), [](const std::string* a, const std::string* b) {
        return std::string_view(*a).compare(*b) < 0;  // char_traits<char>: unsigned bytes.
      });
      out.push_back('{');
      bool first = true;
      for (const std::string* key : keys) {
        if (!first) out.push_back(',');
        first = false;
        AppendString(*key, out);
        out.push_back(':');
        BW_RETURN_IF_ERROR(Append(value.at(*key), depth + 1, out));
      }
      out.push_back('}');
      return Status::Ok();
    }
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      break;
  }
  return {ErrorCode::kUpdateVerification, "canonical JSON: unsupported value type"};
}

}  // namespace

Result<std::string> CanonicalJson(const nlohmann::json& value) {
  std::string out;
  BW_RETURN_IF_ERROR(Append(value, 0, out));
  return out;
}

}  // namespace bellwether::tuf
