// A real HTTPS server for tests: Debian's nginx, run in the foreground on
// 127.0.0.1 with a throwaway configuration, serving a directory, with a
// certificate issued at test time by a throwaway certificate authority.
//
// Nothing secret is committed: every key is generated when a test runs, in a
// temporary directory that the objects below delete again.
//
// Certificates are valid from 2000-01-01 to 2099-12-31, so a client run under
// `faketime` (freeze-attack tests) still accepts the server's certificate.
//
// Typical use:
//   BW_ASSIGN_OR_RETURN(auto server, HttpsServer::Start({.root = repo_dir}));
//   fetcher_options.ca_bundle = server->ca_cert_path();
//   fetcher.Fetch(server->Url("timestamp.json"), ...);
//
// Not thread-safe; one object per test. The destructor stops nginx (SIGTERM,
// then SIGKILL after a bounded wait) and removes the temporary directory.
#ifndef BELLWETHER_TESTS_SUPPORT_HTTPS_SERVER_H_
#define BELLWETHER_TESTS_SUPPORT_HTTPS_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bellwether::testing {

// A fresh temporary directory, removed (recursively) by the destructor.
class TempDir {
 public:
  static Result<std::unique_ptr<TempDir>> Create(std::string_view prefix = "bellwether-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// A certificate authority made for one test (PEM files on disk).
struct TestCa {
  std::filesystem::path cert;  // PEM certificate: pass as the CA bundle.
  std::filesystem::path key;   // PEM private key (test only).
};

// A leaf certificate for "localhost", 127.0.0.1 and ::1.
struct ServerCert {
  std::filesystem::path cert;  // PEM certificate.
  std::filesystem::path key;   // PEM private key.
};

// Creates `dir`/`name`.pem and `dir`/`name`.key: a self-signed P-256 CA.
Result<TestCa> CreateTestCa(const std::filesystem::path& dir, std::string_view name);
// Creates `dir`/`name`.pem and `dir`/`name`.key, signed by `ca`.
Result<ServerCert> IssueServerCert(const TestCa& ca, const std::filesystem::path& dir,
                                   std::string_view name);

// A free TCP port on 127.0.0.1 at the time of the call (bind to port 0).
Result<std::uint16_t> PickFreePort();
// True when something accepts TCP connections on 127.0.0.1:`port`.
bool CanConnect(std::uint16_t port);
// $BELLWETHER_NGINX, else Debian's nginx path, else "nginx" from PATH.
std::string FindNginx();
// The file's bytes, or "" when it cannot be read (logs for error messages).
std::string ReadFileOrEmpty(const std::filesystem::path& path);

class HttpsServer {
 public:
  // Extra nginx `location` block, e.g. {"/slow/", "limit_rate 100;"}.
  struct Location {
    std::string prefix;      // URL prefix, e.g. "/slow/".
    std::string directives;  // nginx directives inside the block.
  };

  struct Options {
    // Directory served at "/". Required.
    std::filesystem::path root;
    // When both are empty, a CA and a server certificate are generated.
    std::filesystem::path server_cert;
    std::filesystem::path server_key;
    // Also listen for plain http on a second port (see http_port()).
    bool also_plain_http = false;
    std::vector<Location> locations;
    // Raw directives appended inside the `server` block.
    std::string extra_server_directives;
  };

  static Result<std::unique_ptr<HttpsServer>> Start(Options options);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  std::uint16_t port() const { return port_; }
  // 0 unless Options::also_plain_http.
  std::uint16_t http_port() const { return http_port_; }
  // "https://127.0.0.1:<port>/" (with the trailing slash).
  std::string BaseUrl() const;
  // "http://127.0.0.1:<http_port>/" (only with also_plain_http).
  std::string PlainBaseUrl() const;
  // BaseUrl() + path (path without a leading slash).
  std::string Url(std::string_view path) const;
  // The generated CA (empty when the caller supplied its own certificate).
  const std::filesystem::path& ca_cert_path() const { return ca_.cert; }
  const TestCa& ca() const { return ca_; }
  const std::filesystem::path& root() const { return options_.root; }
  // nginx's own error output so far (for failure messages).
  std::string ErrorLog() const;

 private:
  HttpsServer() = default;
  Status Launch();
  void Stop();

  Options options_;
  std::unique_ptr<TempDir> work_;  // prefix, config, certificates, logs
  TestCa ca_;
  std::uint16_t port_ = 0;
  std::uint16_t http_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace bellwether::testing

#endif  // BELLWETHER_TESTS_SUPPORT_HTTPS_SERVER_H_
