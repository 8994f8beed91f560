// libcurl, loaded on first use rather than linked.
//
// Linking libcurl costs every host process its ~30 shared libraries at start
// (about 5 ms here; see docs/performance.md), and the host is started once
// per sendNativeMessage, almost always for something that never touches the
// network. The fetcher therefore reaches libcurl only through this table,
// filled by dlopen("libcurl.so.4") the first time a download is attempted.
// The headers (types, option numbers) are libcurl's own, so the ABI is the
// one the code was compiled against.
//
// Thread-safe; the library stays loaded for the life of the process.
#ifndef BELLWETHER_UPDATE_LIBCURL_LOADER_H_
#define BELLWETHER_UPDATE_LIBCURL_LOADER_H_

#include <curl/curl.h>

#include "common/status.h"

namespace bellwether::update {

struct LibCurl {
  // NOLINTBEGIN(google-runtime-int): libcurl's own signatures.
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
  CURLcode (*easy_perform)(CURL* handle);
  CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
  void (*easy_reset)(CURL* handle);
  void (*easy_cleanup)(CURL* handle);
  const char* (*easy_strerror)(CURLcode code);
  CURLU* (*url)();
  void (*url_cleanup)(CURLU* url);
  CURLUcode (*url_set)(CURLU* url, CURLUPart part, const char* content, unsigned int flags);
  CURLUcode (*url_get)(const CURLU* url, CURLUPart part, char** content, unsigned int flags);
  void (*free)(void* pointer);
  // NOLINTEND(google-runtime-int)
};

// The loaded and initialised library (curl_global_init done once), or
// kUpdateNetwork naming what is missing.
Result<const LibCurl*> LoadLibCurl();

}  // namespace bellwether::update

#endif  // BELLWETHER_UPDATE_LIBCURL_LOADER_H_
