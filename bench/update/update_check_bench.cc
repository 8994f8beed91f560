// bench_update_check: the time and the bytes of an "already up to date"
// check (what the host does every few hours), against the floor of fetching
// the one file that says "nothing new": timestamp.json.
//
// Setup (untimed): a repository made by the publisher's library
// (bellwether_release: ed25519 keys, consistent snapshots, one ~30 KB
// content pack "content/japan-us-trade.json"), served over real HTTPS by
// Debian's nginx on 127.0.0.1 with a throwaway CA, with an access log that
// records the bytes of every request. Each client does one full update
// first, so every measured check finds nothing new.
//
// Measured, interleaved in one loop (the order rotates every iteration) so
// machine noise hits every variant alike:
//
//   in-process  bellwether  a fresh CurlFetcher + MetadataStore + Updater,
//                           as the update service builds per check:
//                           Refresh() (2.root.json -> 404, timestamp.json,
//                           cached snapshot and targets re-verified), then
//                           GetTargetInfo + IsCachedTargetValid of the pack
//                           (the service's "do I already have it?").
//                           Reported next to it: Refresh() alone, and the
//                           same check over an in-memory fetcher (the
//                           client's own work without the network).
//               libcurl     a fresh curl easy handle (same CA, peer and host
//                           verification) GETting timestamp.json into memory.
//               libcurl x2  the same, after a GET of 2.root.json (404) on the
//                           same handle: the two requests a TUF check needs,
//                           on one connection, without the client's work.
//   process     bellwether-tuf-client --ca-bundle CA ... refresh
//               curl -q -sS --fail --cacert CA -o /dev/null .../timestamp.json
//               (exec, dynamic linking and TLS setup included in both.)
//
// Bytes: from nginx's access log ($request_length = request line + headers +
// body received, $bytes_sent = status line + headers + body sent), grouped by
// User-Agent, per check; and on the wire, including the TLS handshake,
// through a counting TCP relay in a separate untimed pass.
//
// Usage: bench_update_check [--iterations N] [--no-process]
//        (default 50 iterations; the process variants need
//        bellwether-tuf-client and curl)
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "repository.h"
#include "support/https_server.h"
#include "update/curl_fetcher.h"
#include "update/metadata_store.h"
#include "update/updater.h"

extern char** environ;

namespace bw = bellwether;
namespace fs = std::filesystem;
using bw::bench::Median;
using bw::bench::MicrosSince;
using bw::bench::Percentile;
using bw::bench::SteadyClock;

namespace {

constexpr char kPackTarget[] = "content/japan-us-trade.json";
constexpr std::size_t kPackBytes = 30'497;  // The size of the bundled analysis pack.
// User-Agents that tell the clients apart in nginx's access log.
constexpr char kAgentBellwether[] = "bench-bellwether-in-process";
constexpr char kAgentLibcurl[] = "bench-libcurl-floor";
constexpr char kAgentLibcurlTwo[] = "bench-libcurl-two-requests";
constexpr char kAgentCurlCli[] = "bench-curl-cli";
constexpr char kAgentTufClient[] = "bellwether-tuf-client";  // Its built-in agent.

using bellwether::bench::Check;
using bellwether::bench::Die;
using bellwether::bench::Must;

using bellwether::testing::CanConnect;
using bellwether::testing::FindNginx;
using bellwether::testing::ReadFileOrEmpty;

// nginx in the foreground serving `root`, like tests/support's HttpsServer
// but with an access log of bytes per request (HttpsServer turns the log
// off and cannot declare a log_format). Stopped by the destructor.
class LoggingNginx {
 public:
  LoggingNginx(const fs::path& work, const fs::path& root, const bw::testing::ServerCert& cert)
      : work_(work), root_(root), cert_(cert) {}
  ~LoggingNginx() { Stop(); }
  LoggingNginx(const LoggingNginx&) = delete;
  LoggingNginx& operator=(const LoggingNginx&) = delete;

  bw::Status Start() {
    for (int attempt = 0; attempt < 3; ++attempt) {  // A picked port may be taken meanwhile.
      bw::Status s = Launch();
      if (s.ok()) return s;
      Stop();
      if (attempt == 2) return s;
    }
    return bw::Status::Internal("unreachable");
  }

  std::uint16_t port() const { return port_; }
  fs::path access_log() const { return work_ / "logs" / "access.log"; }

 private:
  bw::Status Launch() {
    BW_ASSIGN_OR_RETURN(port_, bw::testing::PickFreePort());
    fs::create_directories(work_ / "logs");
    fs::create_directories(work_ / "tmp");
    std::ostringstream conf;
    conf << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
         << "pid " << (work_ / "nginx.pid").string() << ";\n"
         << "error_log stderr warn;\n"
         << "events { worker_connections 64; }\n"
         << "http {\n"
         << "  log_format bench '$connection $connection_requests $request_length $bytes_sent $status "
            "$ssl_protocol \"$http_user_agent\" \"$request\"';\n"
         << "  access_log " << access_log().string() << " bench;\n"
         << "  default_type application/octet-stream;\n"
         << "  types { application/json json; }\n";
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      conf << "  " << temp << "_temp_path " << (work_ / "tmp" / temp).string() << ";\n";
    }
    conf << "  sendfile off;\n"
         << "  server {\n"
         << "    listen 127.0.0.1:" << port_ << " ssl;\n"
         << "    server_name localhost;\n"
         << "    ssl_certificate " << cert_.cert.string() << ";\n"
         << "    ssl_certificate_key " << cert_.key.string() << ";\n"
         // Debian's nginx 1.22 offers only TLS 1.2 by default; CDNs and
         // current servers negotiate 1.3.
         << "    ssl_protocols TLSv1.2 TLSv1.3;\n"
         << "    root " << root_.string() << ";\n"
         << "    location / { }\n"
         << "  }\n}\n";
    const fs::path conf_path = work_ / "nginx.conf";
    {
      std::ofstream out(conf_path, std::ios::trunc);
      out << conf.str();
      if (!out) return bw::Status::Internal("cannot write nginx.conf");
    }
    const std::string prefix = work_.string() + "/";
    const std::string err_path = (work_ / "logs" / "stderr.log").string();
    std::vector<std::string> args = {FindNginx(), "-e", err_path, "-p", prefix, "-c", conf_path.string()};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      return bw::Status::Internal("cannot start nginx: " + std::string(std::strerror(rc)));
    }
    for (int i = 0; i < 100; ++i) {  // Up to 5 s for nginx to listen.
      if (CanConnect(port_)) return bw::Status::Ok();
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return bw::Status::Internal("nginx exited: " + ReadFileOrEmpty(err_path));
      }
      usleep(50'000);
    }
    return bw::Status::Internal("nginx did not start listening: " + ReadFileOrEmpty(err_path));
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 40; ++i) {  // Up to 2 s, then SIGKILL.
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      usleep(50'000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  fs::path work_;
  fs::path root_;
  bw::testing::ServerCert cert_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// A TCP relay on 127.0.0.1 that forwards every connection to `target_port`
// and counts the bytes each way: what a check costs on the wire, TLS
// handshake and record overhead included. Used only in the untimed pass.
class CountingRelay {
 public:
  explicit CountingRelay(std::uint16_t target_port) : target_port_(target_port) {}
  ~CountingRelay() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (std::thread& t : pumps_) t.join();
    if (listen_fd_ >= 0) close(listen_fd_);
  }
  CountingRelay(const CountingRelay&) = delete;
  CountingRelay& operator=(const CountingRelay&) = delete;

  bw::Status Start() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return bw::Status::Internal("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return bw::Status::Internal("relay cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
    return bw::Status::Ok();
  }

  std::uint16_t port() const { return port_; }
  // Waits until every relayed connection has closed (bounded), so the
  // counters include the closing TLS alerts.
  void WaitIdle() const {
    for (int i = 0; i < 200 && open_connections_ > 0; ++i) usleep(5'000);
  }
  void Reset() {
    to_server_ = 0;
    to_client_ = 0;
    connections_ = 0;
  }
  std::uint64_t to_server() const { return to_server_; }
  std::uint64_t to_client() const { return to_client_; }
  std::uint64_t connections() const { return connections_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(target_port_);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(client);
        if (server >= 0) close(server);
        continue;
      }
      ++connections_;
      ++open_connections_;
      std::lock_guard<std::mutex> lock(mu_);
      pumps_.emplace_back([this, client, server] { Pump(client, server); });
    }
  }

  // Copies both ways until either side closes.
  void Pump(int client, int server) {
    char buffer[16384];
    bool open = true;
    while (open && !stop_) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      for (int side = 0; side < 2 && open; ++side) {
        if ((p[side].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const int from = side == 0 ? client : server;
        const int to = side == 0 ? server : client;
        const ssize_t n = read(from, buffer, sizeof buffer);
        if (n <= 0) {
          open = false;
          break;
        }
        (side == 0 ? to_server_ : to_client_) += static_cast<std::uint64_t>(n);
        for (ssize_t done = 0; done < n;) {
          const ssize_t w = write(to, buffer + done, static_cast<std::size_t>(n - done));
          if (w <= 0) {
            open = false;
            break;
          }
          done += w;
        }
      }
    }
    close(client);
    close(server);
    --open_connections_;
  }

  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> to_server_{0};
  std::atomic<std::uint64_t> to_client_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<int> open_connections_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;
};

// Runs a program with stdout/stderr to /dev/null; true on exit status 0.
bool RunQuietly(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Serves the repository directory from memory: the Updater's own work on
// an up-to-date check, without any network.
class MemoryFetcher : public bw::update::Fetcher {
 public:
  MemoryFetcher(const fs::path& repo_dir, std::string base_url) : base_url_(std::move(base_url)) {
    for (const auto& entry : fs::recursive_directory_iterator(repo_dir)) {
      if (entry.is_regular_file()) {
        files_[fs::relative(entry.path(), repo_dir).generic_string()] = ReadFileOrEmpty(entry.path());
      }
    }
  }
  bw::Status Fetch(std::string_view url, std::uint64_t max_bytes, const bw::update::ChunkSink& sink,
                   const bw::update::ProgressFn& progress) override {
    if (url.substr(0, base_url_.size()) != base_url_) return bw::Status(bw::ErrorCode::kUpdateNetwork, "bad url");
    auto it = files_.find(std::string(url.substr(base_url_.size())));
    if (it == files_.end()) return bw::Status(bw::ErrorCode::kUpdateNotFound, "404");
    if (it->second.size() > max_bytes) return bw::Status(bw::ErrorCode::kUpdateTooLarge, "too large");
    if (progress) progress(it->second.size(), it->second.size());
    return sink(it->second);
  }

 private:
  std::string base_url_;
  std::map<std::string, std::string> files_;
};

struct Setup {
  fs::path ca_cert;
  fs::path client_dir;       // In-process Bellwether: trusted metadata.
  fs::path pack_path;        // Its verified copy of the content pack.
  fs::path tuf_client_dir;   // bellwether-tuf-client's metadata dir.
};

// One in-process up-to-date check, as the update service makes it. Returns
// the microseconds of Refresh() alone and of the whole check.
// With `memory`, the same check over the in-memory fetcher.
std::pair<double, double> BellwetherCheck(const Setup& setup, const std::string& base_url,
                                          MemoryFetcher* memory = nullptr) {
  const auto start = SteadyClock::now();
  bw::update::CurlFetcherOptions fetcher_options;
  fetcher_options.ca_bundle = setup.ca_cert.string();
  fetcher_options.user_agent = kAgentBellwether;
  bw::update::CurlFetcher curl_fetcher(fetcher_options);
  bw::update::Fetcher& fetcher = memory != nullptr ? static_cast<bw::update::Fetcher&>(*memory) : curl_fetcher;
  bw::update::MetadataStore store(setup.client_dir);
  bw::update::UpdaterOptions options;
  options.metadata_base_url = base_url + "metadata/";
  options.target_base_url = base_url + "targets/";
  bw::update::Updater updater(store, fetcher, options);
  Check(updater.Refresh(), "bellwether refresh");
  const double refresh_us = MicrosSince(start);
  auto info = Must(updater.GetTargetInfo(kPackTarget), "target info");
  if (!bw::update::Updater::IsCachedTargetValid(info, setup.pack_path)) {
    Die("the content pack is not current: the check was not 'up to date'");
  }
  return {refresh_us, MicrosSince(start)};
}

std::size_t WriteBody(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// The floor: one verified HTTPS GET of timestamp.json with a fresh handle.
// With `probe_url`, first a GET of that URL on the same handle (and so the
// same connection, since the 404 is not treated as a libcurl error): the
// two requests TUF's check needs, without the client's work.
double LibcurlFetch(const Setup& setup, const std::string& url, const char* probe_url = nullptr) {
  const auto start = SteadyClock::now();
  CURL* h = curl_easy_init();
  if (h == nullptr) Die("curl_easy_init");
  std::string body;
  if (probe_url != nullptr) {
    curl_easy_setopt(h, CURLOPT_URL, probe_url);
    curl_easy_setopt(h, CURLOPT_CAINFO, setup.ca_cert.c_str());
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, kAgentLibcurlTwo);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    long status = 0;
    if (curl_easy_perform(h) != CURLE_OK ||
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 404) {
      Die("libcurl: the probe did not answer 404");
    }
    body.clear();
  }
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CAINFO, setup.ca_cert.c_str());
  curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, probe_url != nullptr ? kAgentLibcurlTwo : kAgentLibcurl);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK || body.empty()) Die(std::string("libcurl floor: ") + curl_easy_strerror(rc));
  return MicrosSince(start);
}

double TufClientRefresh(const Setup& setup, const std::string& base_url) {
  const auto start = SteadyClock::now();
  if (!RunQuietly({BELLWETHER_TUF_CLIENT_BIN, "--ca-bundle", setup.ca_cert.string(), "--metadata-dir",
                   setup.tuf_client_dir.string(), "--metadata-url", base_url + "metadata/", "refresh"})) {
    Die("bellwether-tuf-client refresh failed");
  }
  return MicrosSince(start);
}

double CurlCliFetch(const Setup& setup, const std::string& url) {
  const auto start = SteadyClock::now();
  if (!RunQuietly({"curl", "-q", "-sS", "--fail", "--cacert", setup.ca_cert.string(), "-A", kAgentCurlCli,
                   "-o", "/dev/null", url})) {
    Die("curl " + url + " failed");
  }
  return MicrosSince(start);
}

// Totals of the access log lines of one User-Agent.
struct LogTotals {
  std::uint64_t requests = 0;
  std::set<std::string> connections;
  std::set<std::string> protocols;  // $ssl_protocol, e.g. "TLSv1.3".
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  std::map<std::string, std::uint64_t> lines;  // "404 GET /metadata/2.root.json" -> count
};

// Parses the log written from `offset` on; lines look like
//   12 1 143 1310 200 TLSv1.3 "agent" "GET /metadata/timestamp.json HTTP/1.1"
std::map<std::string, LogTotals> ReadAccessLog(const fs::path& path, std::uintmax_t offset) {
  std::map<std::string, LogTotals> by_agent;
  const std::string text = ReadFileOrEmpty(path);
  std::istringstream in(text.substr(std::min<std::size_t>(offset, text.size())));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string connection, nreq, status, protocol;
    std::uint64_t request_length = 0, bytes_sent = 0;
    fields >> connection >> nreq >> request_length >> bytes_sent >> status >> protocol;
    const auto q1 = line.find('"');
    const auto q2 = line.find('"', q1 + 1);
    const auto q3 = line.find('"', q2 + 1);
    const auto q4 = line.rfind('"');
    if (!fields || q1 == std::string::npos || q3 == std::string::npos || q4 <= q3) continue;
    LogTotals& t = by_agent[line.substr(q1 + 1, q2 - q1 - 1)];
    ++t.requests;
    t.connections.insert(connection);
    t.request_bytes += request_length;
    t.response_bytes += bytes_sent;
    t.protocols.insert(protocol);
    std::string request = line.substr(q3 + 1, q4 - q3 - 1);
    if (auto sp = request.rfind(' '); sp != std::string::npos) request.resize(sp);  // Drop "HTTP/1.1".
    ++t.lines[status + " " + request];
  }
  return by_agent;
}

struct Series {
  std::string name;
  std::vector<double> us;
};

void PrintSeries(const Series& s) {
  std::printf("  %-52s median %8.0f us   p90 %8.0f us\n", s.name.c_str(), Median(s.us), Percentile(s.us, 0.9));
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 50;
  bool with_process = std::strlen(BELLWETHER_TUF_CLIENT_BIN) > 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--iterations" && i + 1 < argc) {
      iterations = std::atoi(argv[++i]);
    } else if (arg == "--no-process") {
      with_process = false;
    } else {
      std::fprintf(stderr, "usage: bench_update_check [--iterations N] [--no-process]\n");
      return 2;
    }
  }
  if (iterations < 1) Die("--iterations must be at least 1");
  // Loopback only: a proxy from the environment would measure the proxy.
  for (const char* var : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) unsetenv(var);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  auto work = Must(bw::testing::TempDir::Create("bw-bench-update"), "temp dir");
  const fs::path& dir = work->path();
  const fs::path repo_dir = dir / "repo";

  // The repository, made by the publisher's library.
  {
    auto repo = Must(bw::release::Repository::Init(repo_dir, dir / "keys", bw::release::InitOptions{}), "init");
    std::string pack = R"({"packId":"japan-us-trade","edition":1,"text":")";
    while (pack.size() + 3 < kPackBytes) pack += "Tariffs, autos, agriculture. ";
    pack.resize(kPackBytes - 3);
    pack += "\"}\n";
    const fs::path pack_file = dir / "pack.json";
    std::ofstream(pack_file, std::ios::binary) << pack;
    Check(repo->AddTarget(kPackTarget, pack_file, std::nullopt), "add");
    Must(repo->Publish(), "publish");
  }

  auto ca = Must(bw::testing::CreateTestCa(dir, "bench-ca"), "CA");
  auto cert = Must(bw::testing::IssueServerCert(ca, dir, "bench-server"), "server cert");
  LoggingNginx nginx(dir / "nginx", repo_dir, cert);
  Check(nginx.Start(), "nginx");
  const std::string base_url = "https://127.0.0.1:" + std::to_string(nginx.port()) + "/";
  const std::string timestamp_url = base_url + "metadata/timestamp.json";

  Setup setup;
  setup.ca_cert = ca.cert;
  setup.client_dir = dir / "client";
  setup.tuf_client_dir = dir / "tuf-client";
  fs::create_directories(setup.client_dir);
  fs::create_directories(dir / "content");
  setup.pack_path = dir / "content" / "pack.json";
  fs::copy_file(repo_dir / "metadata" / "1.root.json", setup.client_dir / "root.json");

  // One full update per client, so every measured check is "up to date".
  {
    bw::update::CurlFetcherOptions fetcher_options;
    fetcher_options.ca_bundle = setup.ca_cert.string();
    bw::update::CurlFetcher fetcher(fetcher_options);
    bw::update::MetadataStore store(setup.client_dir);
    bw::update::UpdaterOptions options;
    options.metadata_base_url = base_url + "metadata/";
    options.target_base_url = base_url + "targets/";
    bw::update::Updater updater(store, fetcher, options);
    auto info = Must(updater.GetTargetInfo(kPackTarget), "first update");
    Check(updater.DownloadTarget(info, setup.pack_path), "first download");
  }
  if (with_process) {
    if (!RunQuietly({BELLWETHER_TUF_CLIENT_BIN, "--metadata-dir", setup.tuf_client_dir.string(), "init",
                     (repo_dir / "metadata" / "1.root.json").string()})) {
      Die("bellwether-tuf-client init failed");
    }
    TufClientRefresh(setup, base_url);
    if (!RunQuietly({"curl", "--version"})) Die("curl (the command) is not installed; try --no-process");
  }

  struct Variant {
    Series series;
    std::function<double()> run;
  };
  Series refresh_only{"in-process bellwether: Refresh() alone", {}};
  Series no_network{"in-process bellwether, in-memory fetcher", {}};
  MemoryFetcher memory(repo_dir, base_url);
  std::vector<Variant> variants;
  variants.push_back({{"in-process bellwether check (Updater)", {}}, [&] {
                        auto [refresh_us, total_us] = BellwetherCheck(setup, base_url);
                        refresh_only.us.push_back(refresh_us);
                        // The client's own work, measured right after (not
                        // part of this variant's time).
                        no_network.us.push_back(BellwetherCheck(setup, base_url, &memory).second);
                        return total_us;
                      }});
  variants.push_back({{"in-process libcurl GET timestamp.json (floor)", {}},
                      [&] { return LibcurlFetch(setup, timestamp_url); }});
  const std::string root_probe_url = base_url + "metadata/2.root.json";
  variants.push_back({{"in-process libcurl GET 2.root.json+timestamp.json", {}},
                      [&] { return LibcurlFetch(setup, timestamp_url, root_probe_url.c_str()); }});
  if (with_process) {
    variants.push_back({{"process bellwether-tuf-client refresh", {}},
                        [&] { return TufClientRefresh(setup, base_url); }});
    variants.push_back({{"process curl GET timestamp.json (floor)", {}},
                        [&] { return CurlCliFetch(setup, timestamp_url); }});
  }

  for (int i = 0; i < 3; ++i) {  // Warm-up: page cache, nginx, dynamic loader.
    for (Variant& v : variants) v.run();
  }
  refresh_only.us.clear();
  no_network.us.clear();
  usleep(200'000);  // Let nginx write the warm-up's log lines.
  std::error_code ec;
  const std::uintmax_t log_offset = fs::file_size(nginx.access_log(), ec);

  for (int i = 0; i < iterations; ++i) {
    for (std::size_t k = 0; k < variants.size(); ++k) {
      Variant& v = variants[(k + static_cast<std::size_t>(i)) % variants.size()];
      v.series.us.push_back(v.run());
    }
  }
  usleep(200'000);
  const auto log = ReadAccessLog(nginx.access_log(), log_offset);

  std::printf("'already up to date' check over HTTPS on 127.0.0.1 (nginx), %d interleaved runs each\n",
              iterations);
  PrintSeries(variants[0].series);
  PrintSeries(refresh_only);
  PrintSeries(no_network);
  PrintSeries(variants[1].series);
  std::printf("  ratio in-process check/libcurl (medians): %.2f   (Refresh() alone: %.2f)\n",
              Median(variants[0].series.us) / Median(variants[1].series.us),
              Median(refresh_only.us) / Median(variants[1].series.us));
  PrintSeries(variants[2].series);
  std::printf("  ratio in-process check/libcurl with the same two requests on one connection: %.2f\n",
              Median(variants[0].series.us) / Median(variants[2].series.us));
  if (with_process) {
    PrintSeries(variants[3].series);
    PrintSeries(variants[4].series);
    std::printf("  ratio tuf-client/curl process (medians): %.2f\n",
                Median(variants[3].series.us) / Median(variants[4].series.us));
  }

  std::printf("\nHTTP bytes per check (nginx access log: request line+headers received, status+headers+body sent)\n");
  const double n = iterations;
  std::vector<std::pair<const char*, const char*>> agents = {{"in-process bellwether", kAgentBellwether},
                                                             {"in-process libcurl", kAgentLibcurl},
                                                             {"libcurl two requests", kAgentLibcurlTwo}};
  if (with_process) {
    agents.push_back({"bellwether-tuf-client", kAgentTufClient});
    agents.push_back({"curl CLI", kAgentCurlCli});
  }
  for (const auto& [label, agent] : agents) {
    auto it = log.find(agent);
    if (it == log.end()) Die(std::string("no access log lines for ") + agent);
    const LogTotals& t = it->second;
    std::string protocols;
    for (const std::string& p : t.protocols) protocols += (protocols.empty() ? "" : ",") + p;
    std::printf("  %-22s %4.1f requests on %4.1f connections (%s)   sent to server %6.0f B   received %6.0f B\n",
                label, static_cast<double>(t.requests) / n, static_cast<double>(t.connections.size()) / n,
                protocols.c_str(), static_cast<double>(t.request_bytes) / n, static_cast<double>(t.response_bytes) / n);
    for (const auto& [request, count] : t.lines) {
      std::printf("  %-22s   %5.2f x %s\n", "", static_cast<double>(count) / n, request.c_str());
    }
  }

  // Bytes on the wire, TLS included: a few checks of each variant through
  // the counting relay (untimed).
  CountingRelay relay(nginx.port());
  Check(relay.Start(), "relay");
  const std::string relay_url = "https://127.0.0.1:" + std::to_string(relay.port()) + "/";
  constexpr int kWireRuns = 5;
  std::vector<std::pair<const char*, std::function<void()>>> wire = {
      {"in-process bellwether", [&] { BellwetherCheck(setup, relay_url); }},
      {"in-process libcurl", [&] { LibcurlFetch(setup, relay_url + "metadata/timestamp.json"); }},
      {"libcurl two requests", [&] {
         const std::string probe = relay_url + "metadata/2.root.json";
         LibcurlFetch(setup, relay_url + "metadata/timestamp.json", probe.c_str());
       }}};
  if (with_process) {
    wire.push_back({"bellwether-tuf-client", [&] { TufClientRefresh(setup, relay_url); }});
    wire.push_back({"curl CLI", [&] { CurlCliFetch(setup, relay_url + "metadata/timestamp.json"); }});
  }
  std::printf("\nTCP payload bytes per check on the wire (TLS handshake and records included; %d runs)\n",
              kWireRuns);
  std::vector<double> wire_totals;
  for (const auto& [label, run] : wire) {
    relay.WaitIdle();
    relay.Reset();
    for (int i = 0; i < kWireRuns; ++i) {
      run();
      relay.WaitIdle();
    }
    const double up = static_cast<double>(relay.to_server()) / kWireRuns;
    const double down = static_cast<double>(relay.to_client()) / kWireRuns;
    wire_totals.push_back(up + down);
    std::printf("  %-22s %4.1f connections   to server %6.0f B   to client %6.0f B   total %6.0f B\n", label,
                static_cast<double>(relay.connections()) / kWireRuns, up, down, up + down);
  }
  std::printf("  ratio bellwether/libcurl (total bytes): %.2f\n", wire_totals[0] / wire_totals[1]);
  std::printf("  ratio bellwether/libcurl two requests (total bytes): %.2f\n", wire_totals[0] / wire_totals[2]);
  if (with_process) std::printf("  ratio tuf-client/curl (total bytes): %.2f\n", wire_totals[3] / wire_totals[4]);
  return 0;
}
