#include "support/https_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

namespace bellwether::testing {
namespace {

namespace fs = std::filesystem;

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { Fn(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using FilePtr = std::unique_ptr<FILE, Deleter<fclose>>;

Status Fail(std::string what) { return Status::Internal("test PKI: " + std::move(what)); }

Result<PkeyPtr> NewP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Fail("EVP_EC_gen failed");
  return key;
}

// 2000-01-01T00:00:00Z .. 2099-12-31T23:59:59Z: wide enough for faketime.
constexpr time_t kNotBefore = 946684800;
constexpr time_t kNotAfter = 4102444799;

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) return Fail(std::string("bad extension ") + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) return Fail("X509_add_ext failed");
  return Status::Ok();
}

Result<X509Ptr> NewCert(EVP_PKEY* subject_key, const std::string& common_name, long serial) {
  X509Ptr cert(X509_new());
  if (!cert) return Fail("X509_new failed");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), kNotBefore) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), kNotAfter)) {
    return Fail("cannot set validity");
  }
  X509_set_pubkey(cert.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  return cert;
}

Status WritePem(const fs::path& cert_path, X509* cert, const fs::path& key_path, EVP_PKEY* key) {
  {
    FilePtr f(fopen(cert_path.c_str(), "w"));
    if (!f || PEM_write_X509(f.get(), cert) != 1) return Fail("cannot write " + cert_path.string());
  }
  int fd = open(key_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail("cannot create " + key_path.string());
  FilePtr f(fdopen(fd, "w"));
  if (!f) {
    close(fd);
    return Fail("fdopen failed");
  }
  if (PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Fail("cannot write " + key_path.string());
  }
  return Status::Ok();
}

Result<PkeyPtr> ReadKey(const fs::path& path) {
  FilePtr f(fopen(path.c_str(), "r"));
  if (!f) return Fail("cannot open " + path.string());
  PkeyPtr key(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
  if (!key) return Fail("cannot parse " + path.string());
  return key;
}

Result<X509Ptr> ReadCert(const fs::path& path) {
  FilePtr f(fopen(path.c_str(), "r"));
  if (!f) return Fail("cannot open " + path.string());
  X509Ptr cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!cert) return Fail("cannot parse " + path.string());
  return cert;
}

long NextSerial() {
  static long counter = 1;
  return (static_cast<long>(getpid()) << 16) + counter++;
}

}  // namespace

std::string ReadFileOrEmpty(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string FindNginx() {
  if (const char* env = getenv("BELLWETHER_NGINX"); env != nullptr && *env != '\0') return env;
  for (const char* candidate : {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "nginx";
}

bool CanConnect(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

Result<std::unique_ptr<TempDir>> TempDir::Create(std::string_view prefix) {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / (std::string(prefix) + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::Internal("mkdtemp failed: " + std::string(strerror(errno)));
  }
  return std::unique_ptr<TempDir>(new TempDir(fs::path(pattern)));
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Result<TestCa> CreateTestCa(const fs::path& dir, std::string_view name) {
  BW_ASSIGN_OR_RETURN(PkeyPtr key, NewP256Key());
  BW_ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key.get(), "Bellwether Test CA " + std::string(name),
                                            NextSerial()));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  BW_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  BW_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  BW_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return Fail("cannot sign CA");
  TestCa ca{dir / (std::string(name) + ".pem"), dir / (std::string(name) + ".key")};
  BW_RETURN_IF_ERROR(WritePem(ca.cert, cert.get(), ca.key, key.get()));
  return ca;
}

Result<ServerCert> IssueServerCert(const TestCa& ca, const fs::path& dir, std::string_view name) {
  BW_ASSIGN_OR_RETURN(PkeyPtr ca_key, ReadKey(ca.key));
  BW_ASSIGN_OR_RETURN(X509Ptr ca_cert, ReadCert(ca.cert));
  BW_ASSIGN_OR_RETURN(PkeyPtr key, NewP256Key());
  BW_ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key.get(), "localhost", NextSerial()));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  BW_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  BW_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature"));
  BW_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth"));
  BW_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name,
                                  "DNS:localhost,IP:127.0.0.1,IP:::1"));
  BW_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) return Fail("cannot sign server cert");
  ServerCert out{dir / (std::string(name) + ".pem"), dir / (std::string(name) + ".key")};
  BW_RETURN_IF_ERROR(WritePem(out.cert, cert.get(), out.key, key.get()));
  return out;
}

Result<std::uint16_t> PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Internal("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return Status::Internal("cannot bind an ephemeral port");
  }
  close(fd);
  return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

Result<std::unique_ptr<HttpsServer>> HttpsServer::Start(Options options) {
  if (options.root.empty()) return Status::InvalidParams("HttpsServer needs a root directory");
  std::unique_ptr<HttpsServer> server(new HttpsServer());
  server->options_ = std::move(options);
  BW_ASSIGN_OR_RETURN(server->work_, TempDir::Create("bellwether-nginx"));
  const fs::path& work = server->work_->path();
  if (server->options_.server_cert.empty()) {
    BW_ASSIGN_OR_RETURN(server->ca_, CreateTestCa(work, "ca"));
    BW_ASSIGN_OR_RETURN(ServerCert leaf, IssueServerCert(server->ca_, work, "server"));
    server->options_.server_cert = leaf.cert;
    server->options_.server_key = leaf.key;
  }
  // Another process may grab the port between PickFreePort() and nginx's
  // bind(); a few attempts with fresh ports make that race harmless.
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    last = server->Launch();
    if (last.ok()) return server;
  }
  return last;
}

Status HttpsServer::Launch() {
  const fs::path& work = work_->path();
  BW_ASSIGN_OR_RETURN(port_, PickFreePort());
  if (options_.also_plain_http) {
    BW_ASSIGN_OR_RETURN(http_port_, PickFreePort());
    if (http_port_ == port_) return Status::Internal("port collision");
  }
  std::error_code ec;
  fs::create_directories(work / "logs", ec);
  fs::create_directories(work / "tmp", ec);

  std::ostringstream conf;
  conf << "daemon off;\n"
       << "master_process off;\n"
       << "worker_processes 1;\n"
       << "pid " << (work / "nginx.pid").string() << ";\n"
       << "error_log stderr warn;\n"
       << "events { worker_connections 64; }\n"
       << "http {\n"
       << "  access_log off;\n"
       << "  default_type application/octet-stream;\n"
       << "  types { application/json json; }\n"
       << "  client_body_temp_path " << (work / "tmp" / "body").string() << ";\n"
       << "  proxy_temp_path " << (work / "tmp" / "proxy").string() << ";\n"
       << "  fastcgi_temp_path " << (work / "tmp" / "fastcgi").string() << ";\n"
       << "  uwsgi_temp_path " << (work / "tmp" / "uwsgi").string() << ";\n"
       << "  scgi_temp_path " << (work / "tmp" / "scgi").string() << ";\n"
       << "  sendfile off;\n"
       << "  server {\n"
       << "    listen 127.0.0.1:" << port_ << " ssl;\n";
  if (options_.also_plain_http) conf << "    listen 127.0.0.1:" << http_port_ << ";\n";
  conf << "    server_name localhost;\n"
       << "    ssl_certificate " << options_.server_cert.string() << ";\n"
       << "    ssl_certificate_key " << options_.server_key.string() << ";\n"
       << "    root " << options_.root.string() << ";\n"
       << "    location / { }\n";
  for (const Location& location : options_.locations) {
    conf << "    location " << location.prefix << " { " << location.directives << " }\n";
  }
  conf << "    " << options_.extra_server_directives << "\n"
       << "  }\n"
       << "}\n";
  const fs::path conf_path = work / "nginx.conf";
  {
    std::ofstream out(conf_path, std::ios::trunc);
    out << conf.str();
    if (!out) return Status::Internal("cannot write nginx.conf");
  }

  const std::string nginx = FindNginx();
  const std::string prefix = work.string() + "/";
  const std::string stderr_path = (work / "logs" / "stderr.log").string();
  pid_t pid = fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (err >= 0) dup2(err, STDERR_FILENO);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
    }
    execl(nginx.c_str(), nginx.c_str(), "-e", stderr_path.c_str(), "-p", prefix.c_str(), "-c",
          conf_path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;

  // Wait (bounded: 10 s) until nginx accepts connections or exits.
  for (int i = 0; i < 200; ++i) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Internal("nginx exited at startup: " + ErrorLog());
    }
    if (CanConnect(port_) && (!options_.also_plain_http || CanConnect(http_port_))) {
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Stop();
  return Status::Internal("nginx did not start listening: " + ErrorLog());
}

void HttpsServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  // Bounded wait (5 s), then SIGKILL.
  for (int i = 0; i < 100; ++i) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  int wstatus = 0;
  waitpid(pid_, &wstatus, 0);
  pid_ = -1;
}

HttpsServer::~HttpsServer() { Stop(); }

std::string HttpsServer::BaseUrl() const {
  return "https://127.0.0.1:" + std::to_string(port_) + "/";
}

std::string HttpsServer::PlainBaseUrl() const {
  return "http://127.0.0.1:" + std::to_string(http_port_) + "/";
}

std::string HttpsServer::Url(std::string_view path) const {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return BaseUrl() + std::string(path);
}

std::string HttpsServer::ErrorLog() const {
  if (!work_) return {};
  return ReadFileOrEmpty(work_->path() / "logs" / "stderr.log");
}

}  // namespace bellwether::testing
