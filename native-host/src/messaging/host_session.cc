#include "messaging/host_session.h"

#include "common/json_guard.h"
#include "common/log.h"
#include "common/wipe.h"

namespace bellwether::messaging {
namespace {

// The request's id when it can be read (so the caller sees which request
// failed), else null. Guarded like the dispatcher: the parser recurses, so
// depth is capped first.
nlohmann::json RequestId(const std::string& text) {
  if (!IsValidUtf8(text) || JsonTextNestsDeeperThan(text, kMaxJsonDepth)) return nullptr;
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_object()) return nullptr;
  if (auto params = parsed.find("params"); params != parsed.end() && params->is_object()) {
    WipeSecretParams(*params);  // A refused request may still carry a passphrase.
  }
  return parsed.contains("id") ? parsed["id"] : nlohmann::json(nullptr);
}

}  // namespace

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
  const int code = Loop();
  dispatcher_.Shutdown();
  Reap(/*all=*/true);
  return code;
}

void HostSession::StartBackground(std::function<std::string()> call) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::weak_ptr<FrameWriter> weak = writer_;
  std::thread thread([call = std::move(call), weak, done] {
    const std::string reply = call();
    if (auto writer = weak.lock()) {
      Status s = writer->Write(reply);
      if (!s.ok()) log::Warning("cannot write a background reply: " + s.ToString());
    }
    done->store(true);
  });
  workers_.push_back(Worker{std::move(thread), std::move(done)});
}

void HostSession::Reap(bool all) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (all || it->done->load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

int HostSession::Loop() {
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
    // The frame may hold a passphrase: wiped once it has been dispatched.
    struct WipeOnExit {
      std::string& frame;
      ~WipeOnExit() { WipeString(frame); }
    } wipe{**frame};
    std::string reply;
    if (refusal_) {
      reply = Dispatcher::ErrorReply(RequestId(**frame), *refusal_);
    } else {
      Dispatcher::Dispatched d = dispatcher_.Dispatch(**frame, context_);
      if (!d.later) {
        reply = std::move(d.reply);
      } else {
        Reap(/*all=*/false);
        if (workers_.size() < static_cast<std::size_t>(kMaxBackgroundCalls)) {
          StartBackground(std::move(d.later));
          continue;  // Its reply is written when it is done.
        }
        reply = Dispatcher::ErrorReply(
            d.id, Status(ErrorCode::kBusy, "too many slow requests are running; try again"));
      }
    }
    Status written = writer_->Write(reply);
    if (!written.ok()) {
      log::Error("cannot write reply: " + written.ToString());
      return 1;
    }
  }
}

}  // namespace bellwether::messaging
