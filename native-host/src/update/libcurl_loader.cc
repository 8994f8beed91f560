#include "update/libcurl_loader.h"

#include <string>

#include "common/shared_library.h"

namespace bellwether::update {
namespace {

struct Loaded {
  LibCurl api{};
  Status status;
};

Loaded Load() {
  Loaded loaded;
  const SharedLibrary library("libcurl.so.4");
  if (!library.loaded()) {
    loaded.status =
        Status(ErrorCode::kUpdateNetwork, "libcurl is not available (install libcurl4): " + library.error());
    return loaded;
  }
  LibCurl& c = loaded.api;
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
    loaded.status = Status(ErrorCode::kUpdateNetwork, "the installed libcurl is too old (missing functions)");
    return loaded;
  }
  if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    loaded.status = Status(ErrorCode::kUpdateNetwork, "libcurl failed to initialise");
  }
  return loaded;
}

}  // namespace

Result<const LibCurl*> LoadLibCurl() {
  static const Loaded loaded = Load();  // Once, thread-safe.
  if (!loaded.status.ok()) return loaded.status;
  return &loaded.api;
}

}  // namespace bellwether::update
