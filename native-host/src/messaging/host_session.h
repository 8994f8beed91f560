// The host's request loop: read a frame, dispatch it, write the reply, until
// the browser closes stdin. Owns nothing but the loop and the threads of
// background methods (see Dispatcher); the dispatcher must outlive Run().
//
// Background calls: at most kMaxBackgroundCalls at once (more are answered
// with kBusy). When the loop ends, the dispatcher's shutdown hooks run and
// Run() waits for the calls still running before it returns.
//
// Exit semantics (returned by Run()):
//   0  clean EOF between frames (the browser closed the port)
//   1  a frame the stream cannot recover from (bad length, truncated body) or
//      stdout closed; the reason is logged.
#ifndef BELLWETHER_MESSAGING_HOST_SESSION_H_
#define BELLWETHER_MESSAGING_HOST_SESSION_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "messaging/dispatcher.h"
#include "messaging/frame_reader.h"
#include "messaging/frame_writer.h"

namespace bellwether::messaging {

class HostSession {
 public:
  static constexpr int kMaxBackgroundCalls = 4;

  HostSession(int in_fd, int out_fd, const Dispatcher& dispatcher, CallerInfo caller,
              std::size_t max_incoming_frame_bytes = kDefaultMaxIncomingFrameBytes);
  HostSession(const HostSession&) = delete;
  HostSession& operator=(const HostSession&) = delete;

  // Every request is answered with `refusal` instead of being dispatched
  // (used when the caller is not an allowed extension).
  void RefuseAllRequests(Status refusal) { refusal_ = std::move(refusal); }

  // A notifier that stays valid after the session ends (it then drops
  // messages), so background threads may keep a copy.
  NotifyFn Notifier() const;

  int Run();

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  int Loop();
  // Starts `call` on a thread; its reply is written when it returns.
  void StartBackground(std::function<std::string()> call);
  // Joins the workers that have finished (or all of them).
  void Reap(bool all);

  FrameReader reader_;
  std::shared_ptr<FrameWriter> writer_;
  const Dispatcher& dispatcher_;
  RequestContext context_;
  std::optional<Status> refusal_;
  std::vector<Worker> workers_;
};

}  // namespace bellwether::messaging

#endif  // BELLWETHER_MESSAGING_HOST_SESSION_H_
