#include "update/curl_fetcher.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string>
#include <utility>

#include "update/libcurl_loader.h"

namespace bellwether::update {
namespace {

// Only built once LoadLibCurl() succeeded, so the table is there.
const LibCurl& Curl() { return **LoadLibCurl(); }

struct UrlDeleter {
  void operator()(CURLU* url) const { Curl().url_cleanup(url); }
};
struct CurlStringDeleter {
  void operator()(char* s) const { Curl().free(s); }
};
using CurlUrlPtr = std::unique_ptr<CURLU, UrlDeleter>;
using CurlStringPtr = std::unique_ptr<char, CurlStringDeleter>;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// An error page (the expected 404 when probing for the next root) is read
// and dropped rather than failing the transfer, so libcurl keeps the
// connection for the next request; a larger one ends the transfer.
constexpr std::uint64_t kMaxErrorBodyBytes = 16 * 1024;

// State shared with libcurl's callbacks for one transfer.
struct Transfer {
  CURL* handle = nullptr;
  std::uint64_t error_body_bytes = 0;
  std::uint64_t max_bytes = 0;
  std::uint64_t received = 0;
  const ChunkSink* sink = nullptr;
  const ProgressFn* progress = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  bool too_large = false;
  Status sink_status;
};

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type.
  Curl().easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    // Error bodies never reach the sink.
    transfer->error_body_bytes += n;
    return transfer->error_body_bytes > kMaxErrorBodyBytes ? 0 : n;
  }
  // Endless-data defence: abort on the first byte beyond the limit instead
  // of buffering the whole body and checking afterwards.
  if (n > transfer->max_bytes - transfer->received) {
    transfer->too_large = true;
    return 0;  // Makes libcurl fail the transfer with CURLE_WRITE_ERROR.
  }
  transfer->received += n;
  if (*transfer->sink) {
    Status s = (*transfer->sink)(std::string_view(data, n));
    if (!s.ok()) {
      transfer->sink_status = std::move(s);
      return 0;
    }
  }
  return n;
}

int ProgressCallback(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->cancel != nullptr && transfer->cancel->load()) return 1;  // Abort.
  if (transfer->progress != nullptr && *transfer->progress && dlnow > 0) {
    (*transfer->progress)(static_cast<std::uint64_t>(dlnow),
                          dltotal > 0 ? static_cast<std::uint64_t>(dltotal) : 0);
  }
  return 0;
}

Status NetworkError(std::string_view url, std::string_view what) {
  return Status(ErrorCode::kUpdateNetwork, "cannot download " + std::string(url) + ": " + std::string(what));
}

}  // namespace

CurlFetcher::CurlFetcher(CurlFetcherOptions options) : options_(std::move(options)) {}

CurlFetcher::~CurlFetcher() = default;

void CurlFetcher::EasyDeleter::operator()(CURL* handle) const { Curl().easy_cleanup(handle); }

Status CurlFetcher::CheckUrl(std::string_view url) const {
  BW_RETURN_IF_ERROR(LoadLibCurl().status());
  CurlUrlPtr parsed(Curl().url());
  if (!parsed) return Status::Internal("curl_url failed");
  const std::string url_string(url);
  if (Curl().url_set(parsed.get(), CURLUPART_URL, url_string.c_str(), 0) != CURLUE_OK) {
    return NetworkError(url, "not a valid URL");
  }
  char* raw = nullptr;
  if (Curl().url_get(parsed.get(), CURLUPART_SCHEME, &raw, 0) != CURLUE_OK) {
    return NetworkError(url, "URL has no scheme");
  }
  CurlStringPtr scheme(raw);
  const std::string lower_scheme = Lower(scheme.get());
  if (lower_scheme == "https") return Status::Ok();
  if (lower_scheme != "http") return NetworkError(url, "only https:// URLs are allowed");
  if (!options_.allow_insecure_http) {
    return NetworkError(url, "plain http:// is refused; the repository must use https://");
  }
  raw = nullptr;
  if (Curl().url_get(parsed.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK) {
    return NetworkError(url, "URL has no host");
  }
  CurlStringPtr host(raw);
  const std::string lower_host = Lower(host.get());
  if (lower_host == "127.0.0.1" || lower_host == "localhost" || lower_host == "[::1]") {
    return Status::Ok();
  }
  return NetworkError(url, "plain http:// is allowed only on the loopback interface");
}

Status CurlFetcher::Fetch(std::string_view url, std::uint64_t max_bytes, const ChunkSink& sink,
                          const ProgressFn& progress) {
  BW_RETURN_IF_ERROR(CheckUrl(url));
  if (!handle_) {
    handle_.reset(Curl().easy_init());
    if (!handle_) return Status::Internal("curl_easy_init failed");
  } else {
    // Keeps the connection cache, forgets every option.
    Curl().easy_reset(handle_.get());
  }
  CURL* h = handle_.get();
  Transfer transfer;
  transfer.handle = h;
  transfer.max_bytes = max_bytes;
  transfer.sink = &sink;
  transfer.progress = &progress;
  transfer.cancel = options_.cancel;
  const std::string url_string(url);
  const char* protocols = options_.allow_insecure_http ? "http,https" : "https";
  char error_buffer[CURL_ERROR_SIZE] = {0};

  bool ok = true;
  auto set = [&ok](CURLcode code) { ok = ok && code == CURLE_OK; };
  set(Curl().easy_setopt(h, CURLOPT_URL, url_string.c_str()));
  set(Curl().easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer));
  set(Curl().easy_setopt(h, CURLOPT_NOSIGNAL, 1L));
  set(Curl().easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols));
  // A redirect never downgrades to plain http, even where http is allowed.
  set(Curl().easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https"));
  set(Curl().easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L));
  set(Curl().easy_setopt(h, CURLOPT_MAXREDIRS, 5L));
  set(Curl().easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L));
  set(Curl().easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L));
  set(Curl().easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
  // No CURLOPT_ACCEPT_ENCODING on purpose: bodies arrive exactly as stored,
  // so the size limit counts the bytes the signed hashes cover and a small
  // compressed response cannot expand into a huge one.
  if (!options_.ca_bundle.empty()) {
    set(Curl().easy_setopt(h, CURLOPT_CAINFO, options_.ca_bundle.c_str()));
    set(Curl().easy_setopt(h, CURLOPT_CAPATH, nullptr));
  }
  if (!options_.proxy.empty()) set(Curl().easy_setopt(h, CURLOPT_PROXY, options_.proxy.c_str()));
  set(Curl().easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count())));
  set(Curl().easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options_.low_speed_bytes_per_second)));
  set(Curl().easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time.count())));
  set(Curl().easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.overall_timeout.count())));
  // An announced Content-Length above the limit fails before any body byte.
  set(Curl().easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes)));
  // No CURLOPT_FAILONERROR: libcurl closes the connection on an HTTP error
  // with it, and every check expects one 404 (the next root). WriteCallback
  // drops error bodies instead, and the status is checked below.
  set(Curl().easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str()));
  set(Curl().easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteCallback));
  set(Curl().easy_setopt(h, CURLOPT_WRITEDATA, &transfer));
  set(Curl().easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &ProgressCallback));
  set(Curl().easy_setopt(h, CURLOPT_XFERINFODATA, &transfer));
  set(Curl().easy_setopt(h, CURLOPT_NOPROGRESS, 0L));
  if (!ok) return Status::Internal("libcurl rejected an option (built without TLS?)");

  const CURLcode code = Curl().easy_perform(h);
  long http_status = 0;
  Curl().easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http_status);
  // The handle outlives this call: drop its pointers to our stack.
  Curl().easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  Curl().easy_setopt(h, CURLOPT_WRITEDATA, nullptr);
  Curl().easy_setopt(h, CURLOPT_XFERINFODATA, nullptr);
  if (!transfer.sink_status.ok()) return transfer.sink_status;
  if (http_status != 200 && http_status != 0 &&
      (code == CURLE_OK || code == CURLE_WRITE_ERROR || code == CURLE_FILESIZE_EXCEEDED)) {
    if (http_status == 403 || http_status == 404) {
      return Status(ErrorCode::kUpdateNotFound,
                    url_string + " does not exist on the server (HTTP " + std::to_string(http_status) + ")");
    }
    return NetworkError(url, "the server answered HTTP " + std::to_string(http_status));
  }
  if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return Status(ErrorCode::kUpdateTooLarge, url_string + " is larger than the limit of " +
                                                  std::to_string(max_bytes) + " bytes");
  }
  switch (code) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT:
      return Status(ErrorCode::kUpdateTimeout,
                    "download of " + url_string + " timed out or became too slow: " + error_buffer);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return NetworkError(url, std::string("the server's certificate is not trusted: ") + error_buffer);
    case CURLE_ABORTED_BY_CALLBACK:
      return NetworkError(url, "cancelled (the host is shutting down)");
    case CURLE_UNSUPPORTED_PROTOCOL:
      return NetworkError(url, std::string("protocol refused: ") + error_buffer);
    default:
      return NetworkError(url, error_buffer[0] != '\0' ? std::string(error_buffer)
                                                       : std::string(Curl().easy_strerror(code)));
  }
  if (http_status != 200) {
    return NetworkError(url, "unexpected HTTP status " + std::to_string(http_status));
  }
  return Status::Ok();
}

}  // namespace bellwether::update
