#include "messaging/host_session.h"

#include "common/log.h"
#include "common/json_guard.h"

namespace bellwether::messaging {

HostSession::HostSession(int in_fd, int out_fd, const Dispatcher& dispatcher, CallerInfo caller,
                         std::size_t max_incoming_frame_bytes)
    : reader_(in_fd, max_incoming_frame_bytes),
      writer_(std::make_shared<FrameWriter>(out_fd)),
      dispatcher_(dispatcher) {
  context_.caller = std::move(caller);
  context_.notify = Notifier();
}

NotifyFn HostSession::Notifier() const {
  std::weak_ptr<FrameWriter> weak = writer_;
  return [weak](std::string_view method, nlohmann::json params) {
    if (auto writer = weak.lock()) {
      Status s = writer->Write(Dispatcher::NotificationFrame(method, params));
      if (!s.ok()) log::Warning("notification " + std::string(method) + " dropped: " + s.ToString());
    }
  };
}

int HostSession::Run() {
  for (;;) {
    Result<std::optional<std::string>> frame = reader_.Next();
    if (!frame.ok()) {
      log::Error("closing the connection: " + frame.status().message());
      return 1;
    }
    if (!frame->has_value()) {
      log::Debug("browser closed the connection");
      return 0;
    }
    std::string reply;
    if (refusal_) {
      // The id is echoed when it can be read, so the caller sees which request failed.
      // Guarded like the dispatcher: the parser recurses, so depth is capped first.
      nlohmann::json id = nullptr;
      const std::string& text = **frame;
      if (IsValidUtf8(text) && JsonNestingDepth(text, kMaxJsonDepth) <= kMaxJsonDepth) {
        nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
        if (parsed.is_object() && parsed.contains("id")) id = parsed["id"];
      }
      reply = Dispatcher::ErrorReply(id, *refusal_);
    } else {
      reply = dispatcher_.HandleFrame(**frame, context_);
    }
    Status written = writer_->Write(reply);
    if (!written.ok()) {
      log::Error("cannot write reply: " + written.ToString());
      return 1;
    }
  }
}

}  // namespace bellwether::messaging
