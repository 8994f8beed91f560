// The request loop with background methods: a slow method's reply does not
// hold up the requests behind it, the number running at once is bounded, and
// closing the port cancels them and waits for them.
#include "messaging/host_session.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "messaging/frame_reader.h"
#include "pipe_fixture.h"

namespace bellwether::messaging {
namespace {

using nlohmann::json;
using testing::Frame;
using testing::Pipe;

std::string Request(int id, const std::string& method) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}}.dump();
}

// A gate background handlers wait at (bounded: 20 s) until opened.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class HostSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dispatcher_.Register(
        "test.slow",
        [this](const json&, RequestContext&) -> Result<json> {
          return json{{"gateOpened", gate_.Wait()}};
        },
        Runs::kInBackground);
    dispatcher_.Register("test.fast",
                         [](const json&, RequestContext&) -> Result<json> { return json("fast"); });
  }

  // Whatever a test did, nothing is left waiting.
  void TearDown() override {
    gate_.Open();
    in_.CloseWrite();
    if (done_.valid()) done_.wait();
  }

  // Runs the session on its own thread until the input closes.
  void Start() {
    session_ = std::make_unique<HostSession>(in_.read_fd(), out_.write_fd(), dispatcher_, CallerInfo{});
    done_ = std::async(std::launch::async, [this] { return session_->Run(); });
  }
  // The session's exit code, once it ends (bounded wait).
  std::optional<int> Finish() {
    in_.CloseWrite();
    if (done_.wait_for(std::chrono::seconds(20)) != std::future_status::ready) return std::nullopt;
    return done_.get();
  }
  // The next reply, or null when none comes within 20 s.
  json NextReply() {
    pollfd ready{out_.read_fd(), POLLIN, 0};
    if (::poll(&ready, 1, 20000) != 1) return json();
    auto frame = replies_.Next();
    if (!frame.ok() || !frame->has_value()) return json();
    return json::parse(**frame);
  }

  Dispatcher dispatcher_;
  Gate gate_;
  Pipe in_, out_;
  FrameReader replies_{out_.read_fd()};
  std::unique_ptr<HostSession> session_;
  std::future<int> done_;
};

// The fast request sent after the slow one is answered first; the slow reply
// follows once its work is done, under its own id.
TEST_F(HostSessionTest, SlowMethodDoesNotHoldUpLaterRequests) {
  Start();
  in_.Write(Frame(Request(1, "test.slow")));
  in_.Write(Frame(Request(2, "test.fast")));
  json first = NextReply();
  EXPECT_EQ(first["id"], 2);
  EXPECT_EQ(first["result"], "fast");
  gate_.Open();
  json second = NextReply();
  EXPECT_EQ(second["id"], 1);
  EXPECT_EQ(second["result"]["gateOpened"], true);
  EXPECT_EQ(Finish(), 0);
}

// Past kMaxBackgroundCalls running at once, a slow request is answered
// "busy" at once (under its id), and the others still complete.
TEST_F(HostSessionTest, TooManySlowRequestsAreAnsweredBusy) {
  Start();
  const int limit = HostSession::kMaxBackgroundCalls;
  for (int id = 1; id <= limit + 1; ++id) in_.Write(Frame(Request(id, "test.slow")));
  json busy = NextReply();
  EXPECT_EQ(busy["id"], limit + 1);
  EXPECT_EQ(busy["error"]["code"], static_cast<int>(ErrorCode::kBusy));
  EXPECT_EQ(busy["error"]["data"]["name"], "busy");
  gate_.Open();
  std::set<int> completed;
  for (int i = 0; i < limit; ++i) {
    json reply = NextReply();
    EXPECT_EQ(reply["result"]["gateOpened"], true);
    completed.insert(reply["id"].get<int>());
  }
  EXPECT_EQ(completed.size(), static_cast<std::size_t>(limit));
  EXPECT_EQ(Finish(), 0);
}

// Closing the port runs the shutdown hooks (which let the slow call end) and
// waits for the call: its reply is still written before Run() returns.
TEST_F(HostSessionTest, ClosingThePortCancelsAndWaitsForSlowCalls) {
  bool hook_ran = false;
  dispatcher_.OnShutdown([&] {
    hook_ran = true;
    gate_.Open();
  });
  Start();
  in_.Write(Frame(Request(7, "test.slow")));
  in_.Write(Frame(Request(8, "test.fast")));
  EXPECT_EQ(NextReply()["id"], 8);  // The slow call is running now.
  EXPECT_EQ(Finish(), 0);
  EXPECT_TRUE(hook_ran);
  json reply = NextReply();
  EXPECT_EQ(reply["id"], 7);
  EXPECT_EQ(reply["result"]["gateOpened"], true);
}

// Dispatcher::HandleFrame (one-shot use) runs a background method inline.
TEST_F(HostSessionTest, HandleFrameRunsBackgroundMethodsInline) {
  gate_.Open();
  RequestContext ctx;
  ctx.notify = [](std::string_view, json) {};
  json reply = json::parse(dispatcher_.HandleFrame(Request(3, "test.slow"), ctx));
  EXPECT_EQ(reply["id"], 3);
  EXPECT_EQ(reply["result"]["gateOpened"], true);
}

}  // namespace
}  // namespace bellwether::messaging
