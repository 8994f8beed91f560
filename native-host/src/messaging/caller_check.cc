#include "messaging/caller_check.h"

#include <algorithm>
#include <string_view>

namespace bellwether::messaging {
namespace {

constexpr std::string_view kChromeOriginPrefix = "chrome-extension://";

// Chromium extension IDs are 32 characters from 'a' to 'p'.
bool IsChromiumExtensionId(std::string_view id) {
  return id.size() == 32 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= 'a' && c <= 'p'; });
}

// Firefox add-on IDs are an email-like string or a {GUID}; we accept the
// printable subset and cap the length, which is all the check needs.
bool IsPlausibleFirefoxAddonId(std::string_view id) {
  if (id.empty() || id.size() > 255) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '@' || c == '.' || c == '-' || c == '_' || c == '{' || c == '}' || c == '+';
  });
}

}  // namespace

bool LooksLikeBrowserLaunch(const std::vector<std::string>& args) {
  if (args.empty()) return false;
  if (args[0].rfind(kChromeOriginPrefix, 0) == 0) return true;
  // Firefox: <path to host manifest .json> <addon id>.
  return args.size() >= 2 && args[0].size() > 5 &&
         args[0].compare(args[0].size() - 5, 5, ".json") == 0;
}

Result<CallerInfo> ParseCallerArguments(const std::vector<std::string>& args) {
  if (args.empty()) {
    return Status(ErrorCode::kCallerNotAllowed, "no caller origin was passed by the browser");
  }
  CallerInfo info;
  const std::string& first = args[0];
  if (first.rfind(kChromeOriginPrefix, 0) == 0) {
    std::string_view rest(first);
    rest.remove_prefix(kChromeOriginPrefix.size());
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (!IsChromiumExtensionId(rest)) {
      return Status(ErrorCode::kCallerNotAllowed, "malformed caller origin");
    }
    info.browser = BrowserFamily::kChromium;
    info.extension_id = std::string(rest);
    return info;
  }
  if (args.size() >= 2 && IsPlausibleFirefoxAddonId(args[1])) {
    info.browser = BrowserFamily::kFirefox;
    info.extension_id = args[1];
    return info;
  }
  return Status(ErrorCode::kCallerNotAllowed, "unrecognised caller arguments");
}

Status CheckCallerAllowed(const CallerInfo& caller, const std::vector<std::string>& allowed_ids) {
  if (std::find(allowed_ids.begin(), allowed_ids.end(), caller.extension_id) != allowed_ids.end()) {
    return Status::Ok();
  }
  return Status(ErrorCode::kCallerNotAllowed,
                "extension " + caller.extension_id +
                    " is not allowed to use this host; reinstall the host for it "
                    "(bellwether-host install --extension-id ID)");
}

}  // namespace bellwether::messaging
