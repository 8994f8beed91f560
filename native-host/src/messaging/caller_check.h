// Who is calling the host. Chromium passes the caller's origin
// ("chrome-extension://<id>/") as the first argument; Firefox passes the path
// of the host manifest and then the add-on ID. The host serves only the
// extension IDs it was installed for: defence in depth behind the browser's
// own allowed_origins / allowed_extensions check.
#ifndef BELLWETHER_MESSAGING_CALLER_CHECK_H_
#define BELLWETHER_MESSAGING_CALLER_CHECK_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace bellwether::messaging {

enum class BrowserFamily { kChromium, kFirefox };

struct CallerInfo {
  BrowserFamily browser = BrowserFamily::kChromium;
  // The extension ID: 32 letters a-p for Chromium, the add-on ID for Firefox.
  std::string extension_id;
};

// Interprets the host's argv (without argv[0]). Fails (kCallerNotAllowed)
// when the arguments do not name a caller in the expected shape.
Result<CallerInfo> ParseCallerArguments(const std::vector<std::string>& args);

// True when `args` look like a browser launching the host (as opposed to a
// person running a CLI command).
bool LooksLikeBrowserLaunch(const std::vector<std::string>& args);

// kCallerNotAllowed unless caller.extension_id is in `allowed_ids`.
Status CheckCallerAllowed(const CallerInfo& caller, const std::vector<std::string>& allowed_ids);

}  // namespace bellwether::messaging

#endif  // BELLWETHER_MESSAGING_CALLER_CHECK_H_
