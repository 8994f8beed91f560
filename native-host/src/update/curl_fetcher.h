// Fetcher over libcurl, hardened for an updater that must not hang or be
// talked into accepting endless data:
//  - HTTPS with peer and host verification always on; an optional CA bundle
//    replaces the system store (tests, private repositories).
//  - Plain http:// only when `allow_insecure_http` is set, and even then only
//    for 127.0.0.1, localhost and [::1] (loopback tests, the conformance
//    client). Redirects may only lead to https.
//  - Proxy from the environment (libcurl's https_proxy / no_proxy) unless an
//    explicit `proxy` is configured.
//  - Connect timeout, low-speed limit and an overall deadline.
//
// TUF verifies what arrives, so TLS is defence in depth here, not the trust
// anchor; it still stops a network attacker from learning what we fetch and
// from serving stale-but-signed files cheaply.
//
// One CurlFetcher may be used from one thread at a time.
#ifndef BELLWETHER_UPDATE_CURL_FETCHER_H_
#define BELLWETHER_UPDATE_CURL_FETCHER_H_

#include <curl/curl.h>  // Types only: libcurl itself is loaded on first use.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "update/fetcher.h"

namespace bellwether::update {

struct CurlFetcherOptions {
  // PEM file with the CA certificates to trust; empty = the system store.
  std::string ca_bundle;
  // Loopback-only plain http (see the file comment).
  bool allow_insecure_http = false;
  // e.g. "http://proxy.example:3128"; empty = libcurl reads the environment.
  std::string proxy;
  std::chrono::milliseconds connect_timeout{15'000};
  // Abort when slower than `low_speed_bytes_per_second` for `low_speed_time`.
  std::int64_t low_speed_bytes_per_second = 512;
  std::chrono::seconds low_speed_time{30};
  // Upper bound for one whole transfer.
  std::chrono::milliseconds overall_timeout{10 * 60 * 1000};
  std::string user_agent = "bellwether-host";
  // When set and true, the transfer in progress is aborted (shutdown). Must
  // outlive the fetcher.
  const std::atomic<bool>* cancel = nullptr;
};

class CurlFetcher : public Fetcher {
 public:
  explicit CurlFetcher(CurlFetcherOptions options);
  ~CurlFetcher() override;
  CurlFetcher(const CurlFetcher&) = delete;
  CurlFetcher& operator=(const CurlFetcher&) = delete;

  Status Fetch(std::string_view url, std::uint64_t max_bytes, const ChunkSink& sink,
               const ProgressFn& progress) override;

 private:
  // Refuses schemes other than https (and loopback http when allowed).
  Status CheckUrl(std::string_view url) const;

  CurlFetcherOptions options_;
  // Kept between fetches so one check reuses one TLS connection.
  struct EasyDeleter {
    void operator()(CURL* handle) const;
  };
  std::unique_ptr<CURL, EasyDeleter> handle_;
};

}  // namespace bellwether::update

#endif  // BELLWETHER_UPDATE_CURL_FETCHER_H_
