// The host's request loop: read a frame, dispatch it, write the reply, until
// the browser closes stdin. Owns nothing but the loop; the dispatcher must
// outlive Run().
//
// Exit semantics (returned by Run()):
//   0  clean EOF between frames (the browser closed the port)
//   1  a frame the stream cannot recover from (bad length, truncated body) or
//      stdout closed; the reason is logged.
#ifndef BELLWETHER_MESSAGING_HOST_SESSION_H_
#define BELLWETHER_MESSAGING_HOST_SESSION_H_

#include <memory>
#include <optional>

#include "common/status.h"
#include "messaging/dispatcher.h"
#include "messaging/frame_reader.h"
#include "messaging/frame_writer.h"

namespace bellwether::messaging {

class HostSession {
 public:
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
  FrameReader reader_;
  std::shared_ptr<FrameWriter> writer_;
  const Dispatcher& dispatcher_;
  RequestContext context_;
  std::optional<Status> refusal_;
};

}  // namespace bellwether::messaging

#endif  // BELLWETHER_MESSAGING_HOST_SESSION_H_
