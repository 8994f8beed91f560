// CurlFetcher against a real HTTPS server (nginx on 127.0.0.1, a CA made
// for the test).
#include "update/curl_fetcher.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <fstream>
#include <string>

#include "support/https_server.h"

namespace bellwether::update {
namespace {

namespace fs = std::filesystem;
using testing::HttpsServer;
using testing::TempDir;

void WriteFile(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class CurlFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("curl-fetcher-test");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    root_ = std::move(dir).value();
    WriteFile(root_->path() / "hello.txt", "hello, bellwether\n");
    WriteFile(root_->path() / "big.bin", std::string(200'000, 'x'));
    WriteFile(root_->path() / "slow" / "file.bin", std::string(20'000, 's'));
  }

  void StartServer(HttpsServer::Options options) {
    options.root = root_->path();
    auto server = HttpsServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  CurlFetcherOptions TrustingOptions() const {
    CurlFetcherOptions options;
    options.ca_bundle = server_->ca_cert_path().string();
    return options;
  }

  static HttpsServer::Options PlainHttpToo() {
    HttpsServer::Options options;
    options.also_plain_http = true;
    return options;
  }
  static HttpsServer::Options WithLocation(std::string prefix, std::string directives) {
    HttpsServer::Options options;
    options.locations.push_back({std::move(prefix), std::move(directives)});
    return options;
  }

  std::unique_ptr<TempDir> root_;
  std::unique_ptr<HttpsServer> server_;
};

// A server certificate issued by the configured CA is accepted.
TEST_F(CurlFetcherTest, DownloadsOverHttpsWithTheConfiguredCa) {
  StartServer({});
  CurlFetcher fetcher(TrustingOptions());
  auto body = FetchToString(fetcher, server_->Url("hello.txt"), 1024);
  ASSERT_TRUE(body.ok()) << body.status().ToString() << "\n" << server_->ErrorLog();
  EXPECT_EQ(*body, "hello, bellwether\n");
}

// Certificate verification is always on: a certificate from another CA fails.
TEST_F(CurlFetcherTest, RejectsServerCertificateFromAnotherCa) {
  StartServer({});
  auto other_dir = TempDir::Create("other-ca");
  ASSERT_TRUE(other_dir.ok());
  auto other_ca = testing::CreateTestCa((*other_dir)->path(), "other");
  ASSERT_TRUE(other_ca.ok()) << other_ca.status().ToString();
  CurlFetcherOptions options;
  options.ca_bundle = other_ca->cert.string();
  CurlFetcher fetcher(options);
  auto body = FetchToString(fetcher, server_->Url("hello.txt"), 1024);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), ErrorCode::kUpdateNetwork) << body.status().ToString();
}

// A missing file is reported as "not found", distinct from other failures.
TEST_F(CurlFetcherTest, ReportsMissingFileAsNotFound) {
  StartServer({});
  CurlFetcher fetcher(TrustingOptions());
  auto body = FetchToString(fetcher, server_->Url("2.root.json"), 1024);
  ASSERT_FALSE(body.ok());
  EXPECT_TRUE(IsNotFound(body.status())) << body.status().ToString();
}

// A body above max_bytes fails with update_too_large, and the sink never
// receives more than the limit.
TEST_F(CurlFetcherTest, EnforcesSizeLimitWhileDownloading) {
  StartServer({});
  CurlFetcher fetcher(TrustingOptions());
  std::uint64_t received = 0;
  Status s = fetcher.Fetch(
      server_->Url("big.bin"), 10'000,
      [&received](std::string_view chunk) {
        received += chunk.size();
        return Status::Ok();
      },
      {});
  EXPECT_EQ(s.code(), ErrorCode::kUpdateTooLarge) << s.ToString();
  EXPECT_LE(received, 10'000u);
}

// Without a Content-Length (chunked), the limit still cuts the body off.
TEST_F(CurlFetcherTest, EnforcesSizeLimitWithoutContentLength) {
  // sub_filter rewrites the body, so nginx drops Content-Length.
  StartServer(WithLocation("/big.bin", "sub_filter 'x' 'x'; sub_filter_once off; sub_filter_types *;"));
  CurlFetcher fetcher(TrustingOptions());
  std::uint64_t received = 0;
  std::uint64_t announced_total = 0;
  Status s = fetcher.Fetch(
      server_->Url("big.bin"), 10'000,
      [&received](std::string_view chunk) {
        received += chunk.size();
        return Status::Ok();
      },
      [&announced_total](std::uint64_t, std::uint64_t total) { announced_total = total; });
  EXPECT_EQ(s.code(), ErrorCode::kUpdateTooLarge) << s.ToString();
  EXPECT_LE(received, 10'000u);
  EXPECT_EQ(announced_total, 0u) << "the server announced a length; the test lost its point";
}

// A server slower than the low-speed limit is abandoned (slow-retrieval
// attack) instead of hanging the host.
TEST_F(CurlFetcherTest, AbortsTransferBelowLowSpeedLimit) {
  StartServer(WithLocation("/slow/", "limit_rate 100;"));
  CurlFetcherOptions options = TrustingOptions();
  options.low_speed_bytes_per_second = 1000;
  options.low_speed_time = std::chrono::seconds(2);
  CurlFetcher fetcher(options);
  auto body = FetchToString(fetcher, server_->Url("slow/file.bin"), 100'000);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), ErrorCode::kUpdateTimeout) << body.status().ToString();
}

// Plain http is refused unless explicitly allowed.
TEST_F(CurlFetcherTest, RefusesPlainHttpByDefault) {
  StartServer(PlainHttpToo());
  CurlFetcher fetcher(TrustingOptions());
  auto body = FetchToString(fetcher, server_->PlainBaseUrl() + "hello.txt", 1024);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), ErrorCode::kUpdateNetwork);
}

// With allow_insecure_http, loopback http works (conformance client, tests).
TEST_F(CurlFetcherTest, AllowsLoopbackHttpWhenEnabled) {
  StartServer(PlainHttpToo());
  CurlFetcherOptions options = TrustingOptions();
  options.allow_insecure_http = true;
  CurlFetcher fetcher(options);
  auto body = FetchToString(fetcher, server_->PlainBaseUrl() + "hello.txt", 1024);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(*body, "hello, bellwether\n");
}

// Even when http is allowed, only loopback hosts may use it (no request made).
TEST(CurlFetcher, RefusesHttpToNonLoopbackHostEvenWhenAllowed) {
  CurlFetcherOptions options;
  options.allow_insecure_http = true;
  CurlFetcher fetcher(options);
  auto body = FetchToString(fetcher, "http://example.com/timestamp.json", 1024);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), ErrorCode::kUpdateNetwork);
  EXPECT_NE(body.status().message().find("loopback"), std::string::npos) << body.status().message();
}

// Other schemes (file://, ftp://) are never fetched.
TEST(CurlFetcher, RefusesOtherSchemes) {
  CurlFetcher fetcher({});
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"}) {
    auto body = FetchToString(fetcher, url, 1024);
    ASSERT_FALSE(body.ok()) << url;
    EXPECT_EQ(body.status().code(), ErrorCode::kUpdateNetwork) << url;
  }
}

// A redirect from https to plain http is not followed.
TEST_F(CurlFetcherTest, DoesNotFollowRedirectToHttp) {
  // nginx answers /moved with a redirect to plain http.
  StartServer(WithLocation("= /moved", "return 302 http://127.0.0.1:1/hello.txt;"));
  CurlFetcherOptions options = TrustingOptions();
  options.allow_insecure_http = true;
  CurlFetcher fetcher(options);
  auto body = FetchToString(fetcher, server_->Url("moved"), 1024);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), ErrorCode::kUpdateNetwork) << body.status().ToString();
  EXPECT_NE(body.status().message().find("protocol"), std::string::npos) << body.status().message();
}

// An explicit proxy is used: with a proxy that refuses connections, the
// fetch fails even though the server itself is reachable.
TEST_F(CurlFetcherTest, UsesExplicitProxy) {
  StartServer({});
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  auto dead_port = testing::PickFreePort();
  ASSERT_TRUE(dead_port.ok());
  CurlFetcherOptions options = TrustingOptions();
  options.proxy = "http://127.0.0.1:" + std::to_string(*dead_port);
  CurlFetcher fetcher(options);
  auto body = FetchToString(fetcher, server_->Url("hello.txt"), 1024);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), ErrorCode::kUpdateNetwork) << body.status().ToString();
  // The same fetcher options without the proxy work.
  CurlFetcher direct(TrustingOptions());
  EXPECT_TRUE(FetchToString(direct, server_->Url("hello.txt"), 1024).ok());
}

// Progress reports the bytes received and the announced total.
TEST_F(CurlFetcherTest, ReportsProgress) {
  StartServer({});
  CurlFetcher fetcher(TrustingOptions());
  std::uint64_t last_done = 0;
  std::uint64_t last_total = 0;
  Status s = fetcher.Fetch(
      server_->Url("big.bin"), 1'000'000, [](std::string_view) { return Status::Ok(); },
      [&](std::uint64_t done, std::uint64_t total) {
        last_done = done;
        last_total = total;
      });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(last_done, 200'000u);
  EXPECT_EQ(last_total, 200'000u);
}

// An error from the sink aborts the transfer and is returned unchanged.
TEST_F(CurlFetcherTest, PassesSinkErrorThrough) {
  StartServer({});
  CurlFetcher fetcher(TrustingOptions());
  Status s = fetcher.Fetch(
      server_->Url("big.bin"), 1'000'000,
      [](std::string_view) { return Status(ErrorCode::kUpdateVerification, "bad hash"); }, {});
  EXPECT_EQ(s.code(), ErrorCode::kUpdateVerification);
}

}  // namespace
}  // namespace bellwether::update
