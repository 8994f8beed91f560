#include "app/host_methods.h"

#include <set>
#include <string>

#include "common/version.h"

namespace bellwether::app {

using nlohmann::json;

void RegisterHostMethods(messaging::Dispatcher& dispatcher) {
  const messaging::Dispatcher* self = &dispatcher;
  dispatcher.Register("host.hello", [self](const json&, messaging::RequestContext& ctx) -> Result<json> {
    std::set<std::string> capabilities;
    std::vector<std::string> methods = self->Methods();
    for (const std::string& m : methods) capabilities.insert(m.substr(0, m.find('.')));
    return json{{"product", kProductName},
                {"version", kProductVersion},
                {"protocolVersion", kProtocolVersion},
                {"capabilities", capabilities},
                {"methods", methods},
                {"caller",
                 {{"browser", ctx.caller.browser == messaging::BrowserFamily::kFirefox ? "firefox" : "chromium"},
                  {"extensionId", ctx.caller.extension_id}}}};
  });
  dispatcher.Register("host.ping", [](const json& params, messaging::RequestContext&) -> Result<json> {
    BW_RETURN_IF_ERROR(messaging::OnlyParams(params, {"echo", "paddingBytes"}));
    json result = {{"pong", true}};
    if (const json* echo = messaging::OptionalParam(params, "echo")) {
      if (!echo->is_string()) return Status::InvalidParams("parameter \"echo\" must be a string");
      if (echo->get_ref<const std::string&>().size() > kMaxPingEchoBytes) {
        return Status::TooLarge("\"echo\" is longer than 1 MiB");
      }
      result["echo"] = *echo;
    }
    // Diagnostics: "padding" of n bytes lets the extension (and the tests)
    // probe the host-to-browser size limit end to end.
    if (const json* size = messaging::OptionalParam(params, "paddingBytes")) {
      if (!size->is_number_unsigned() || size->get<std::uint64_t>() > 2 * kMaxPingEchoBytes) {
        return Status::InvalidParams("\"paddingBytes\" must be an integer from 0 to 2097152");
      }
      result["padding"] = std::string(size->get<std::size_t>(), '.');
    }
    return result;
  });
}

}  // namespace bellwether::app
