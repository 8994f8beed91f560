#include "update/libcurl_loader.h"

#include <string>

#include "common/shared_library.h"

namespace bellwether::update {
namespace {

Result<LibCurl> Load() {
  const SharedLibrary library("libcurl.so.4");
  if (!library.loaded()) {
    return Status(ErrorCode::kUpdateNetwork,
                  "libcurl is not available (install libcurl4): " + library.error());
  }
  LibCurl c{};
  const bool ok =
      library.Resolve("curl_global_init", c.global_init) && library.Resolve("curl_easy_init", c.easy_init) &&
      library.Resolve("curl_easy_setopt", c.easy_setopt) &&
      library.Resolve("curl_easy_perform", c.easy_perform) &&
      library.Resolve("curl_easy_getinfo", c.easy_getinfo) &&
      library.Resolve("curl_easy_reset", c.easy_reset) &&
      library.Resolve("curl_easy_cleanup", c.easy_cleanup) &&
      library.Resolve("curl_easy_strerror", c.easy_strerror) && library.Resolve("curl_url", c.url) &&
      library.Resolve("curl_url_cleanup", c.url_cleanup) && library.Resolve("curl_url_set", c.url_set) &&
      library.Resolve("curl_url_get", c.url_get) && library.Resolve("curl_free", c.free);
  if (!ok) {
    return Status(ErrorCode::kUpdateNetwork, "the installed libcurl is too old (missing functions)");
  }
  if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return Status(ErrorCode::kUpdateNetwork, "libcurl failed to initialise");
  }
  return c;
}

}  // namespace

Result<const LibCurl*> LoadLibCurl() {
  static const Result<LibCurl> loaded = Load();  // Once, thread-safe.
  if (!loaded.ok()) return loaded.status();
  return &loaded.value();
}

}  // namespace bellwether::update
