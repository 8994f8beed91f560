#include "update/libcurl_loader.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace bellwether::update {
namespace {

// dlsym returns void*; the cast to the typed pointer is the documented
// POSIX way to use it.
template <typename Fn>
bool Resolve(void* library, const char* name, Fn& out) {
  void* symbol = ::dlsym(library, name);
  out = reinterpret_cast<Fn>(symbol);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  return symbol != nullptr;
}

struct Loaded {
  LibCurl api{};
  Status status;
};

Loaded Load() {
  Loaded loaded;
  void* library = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    loaded.status = Status(ErrorCode::kUpdateNetwork,
                           std::string("libcurl is not available (install libcurl4): ") + (why ? why : "?"));
    return loaded;
  }
  LibCurl& c = loaded.api;
  const bool ok = Resolve(library, "curl_global_init", c.global_init) &&
                  Resolve(library, "curl_easy_init", c.easy_init) &&
                  Resolve(library, "curl_easy_setopt", c.easy_setopt) &&
                  Resolve(library, "curl_easy_perform", c.easy_perform) &&
                  Resolve(library, "curl_easy_getinfo", c.easy_getinfo) &&
                  Resolve(library, "curl_easy_reset", c.easy_reset) &&
                  Resolve(library, "curl_easy_cleanup", c.easy_cleanup) &&
                  Resolve(library, "curl_easy_strerror", c.easy_strerror) &&
                  Resolve(library, "curl_url", c.url) &&
                  Resolve(library, "curl_url_cleanup", c.url_cleanup) &&
                  Resolve(library, "curl_url_set", c.url_set) &&
                  Resolve(library, "curl_url_get", c.url_get) &&
                  Resolve(library, "curl_free", c.free);
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
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] { loaded = Load(); });
  if (!loaded.status.ok()) return loaded.status;
  return &loaded.api;
}

}  // namespace bellwether::update
