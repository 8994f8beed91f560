// JSON-RPC 2.0 dispatch for the host.
//
// HandleFrame() takes one frame's payload and returns the serialised reply.
// It validates before dispatch: UTF-8, JSON (with a nesting cap), a request
// object with "jsonrpc":"2.0", a string "method", an id that is a string or
// a number (not null), and "params" that is an object when present (named
// parameters only; absent means {}; docs/protocol.md).
// Every failure becomes a JSON-RPC error with a stable code (common/status.h);
// handler exceptions are caught here and never reach the wire as internals.
// Requests without an "id" (notifications) are not accepted from the browser:
// notifications are reserved for host-to-extension events.
//
// Methods run inline (on the request loop, one after another, in order) or,
// when registered Runs::kInBackground, on a thread of their own: a slow
// method (update.check waits on the network) must not hold up the requests
// behind it. A background method's reply may overtake or follow later
// replies; the extension matches replies by id.
//
// Not thread-safe for Register(); Dispatch() and HandleFrame() may be called
// from one thread at a time (the request loop). The work Dispatch() returns
// for a background method may run on any thread.
#ifndef BELLWETHER_MESSAGING_DISPATCHER_H_
#define BELLWETHER_MESSAGING_DISPATCHER_H_

#include <functional>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "messaging/caller_check.h"

namespace bellwether::messaging {

// JSON nested deeper than this is refused before it is parsed into a tree.
inline constexpr int kMaxJsonDepth = 64;

// Sends a host-to-extension notification (no id), e.g. update.progress.
using NotifyFn = std::function<void(std::string_view method, nlohmann::json params)>;

struct RequestContext {
  CallerInfo caller;
  NotifyFn notify;  // Never null inside a handler (a no-op in tests).
};

// A handler gets the request's params (an object, or {} when absent) and
// returns a result or an error Status.
using MethodHandler = std::function<Result<nlohmann::json>(const nlohmann::json& params, RequestContext& ctx)>;

enum class Runs { kInline, kInBackground };

class Dispatcher {
 public:
  void Register(std::string method, MethodHandler handler, Runs runs = Runs::kInline);
  std::vector<std::string> Methods() const;

  // A frame dispatched: the reply now, or, for a background method, the call
  // that will produce it (it owns everything it needs) and the request's id
  // (for a reply the caller makes instead, such as "busy").
  struct Dispatched {
    Dispatched(std::string r) : reply(std::move(r)) {}  // NOLINT(google-explicit-constructor)
    Dispatched(std::function<std::string()> call, nlohmann::json request_id)
        : later(std::move(call)), id(std::move(request_id)) {}
    std::string reply;
    std::function<std::string()> later;
    nlohmann::json id;
  };
  // Validates the frame and runs an inline method. Every reply (now or
  // later) fits in one outgoing frame.
  Dispatched Dispatch(std::string_view payload, RequestContext& ctx) const;
  // Dispatch(), running a background method here too (tests, one-shot use).
  std::string HandleFrame(std::string_view payload, RequestContext& ctx) const;

  // `hook` runs when the session ends, before its background calls are
  // waited for: a way to cancel them (an update check's transfer).
  void OnShutdown(std::function<void()> hook);
  void Shutdown() const;

  // Helpers shared with tests and the session loop.
  static std::string ErrorReply(const nlohmann::json& id, const Status& status);
  static std::string NotificationFrame(std::string_view method, const nlohmann::json& params);

 private:
  struct Entry {
    MethodHandler handler;
    Runs runs = Runs::kInline;
  };
  static std::string Call(const MethodHandler& handler, const std::string& method, const nlohmann::json& id,
                          const nlohmann::json& params, RequestContext& ctx);

  std::map<std::string, Entry, std::less<>> handlers_;
  std::vector<std::function<void()>> shutdown_hooks_;
};

// Checks a JSON value's type for params validation, e.g.
//   BW_ASSIGN_OR_RETURN(std::string ns, RequireString(params, "namespace"));
Result<std::string> RequireString(const nlohmann::json& params, std::string_view name);
// The same without a copy (valid while `params` is): for secrets, which the
// dispatcher wipes in params once the handler returns ("passphrase",
// "currentPassphrase").
Result<std::string_view> RequireStringView(const nlohmann::json& params, std::string_view name);
// Overwrites the secret parameters' bytes in place (Dispatch() does this
// after each inline handler).
void WipeSecretParams(nlohmann::json& params);
Result<std::int64_t> RequireInt(const nlohmann::json& params, std::string_view name);
Result<bool> RequireBool(const nlohmann::json& params, std::string_view name);
// kInvalidParams naming the first parameter not in `known` (and the known
// ones): a misspelt optional parameter must not be quietly ignored (a
// misspelt "expectedRevision" would turn a conditional write into an
// unconditional one). Every method that takes parameters calls it first.
Status OnlyParams(const nlohmann::json& params, std::span<const std::string_view> known);
Status OnlyParams(const nlohmann::json& params, std::initializer_list<std::string_view> known);
// An optional parameter's value, or nullptr when it is absent or null (the
// same thing, for every method; docs/protocol.md).
const nlohmann::json* OptionalParam(const nlohmann::json& params, std::string_view name);

}  // namespace bellwether::messaging

#endif  // BELLWETHER_MESSAGING_DISPATCHER_H_
