// JSON-RPC 2.0 dispatch for the host.
//
// HandleFrame() takes one frame's payload and returns the serialised reply.
// It validates before dispatch: UTF-8, JSON (with a nesting cap), a request
// object with "jsonrpc":"2.0", a string "method", an id that is a string,
// number or null, and "params" that is an object or array when present.
// Every failure becomes a JSON-RPC error with a stable code (common/status.h);
// handler exceptions are caught here and never reach the wire as internals.
// Requests without an "id" (notifications) are not accepted from the browser:
// notifications are reserved for host-to-extension events.
//
// Not thread-safe for Register(); HandleFrame() may be called from one thread
// at a time (the request loop).
#ifndef BELLWETHER_MESSAGING_DISPATCHER_H_
#define BELLWETHER_MESSAGING_DISPATCHER_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

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

class Dispatcher {
 public:
  void Register(std::string method, MethodHandler handler);
  std::vector<std::string> Methods() const;

  // Always returns a reply that fits in one outgoing frame.
  std::string HandleFrame(std::string_view payload, RequestContext& ctx) const;

  // Helpers shared with tests and the session loop.
  static std::string ErrorReply(const nlohmann::json& id, const Status& status);
  static std::string NotificationFrame(std::string_view method, const nlohmann::json& params);

 private:
  std::map<std::string, MethodHandler, std::less<>> handlers_;
};

// Checks a JSON value's type for params validation, e.g.
//   BW_ASSIGN_OR_RETURN(std::string ns, RequireString(params, "namespace"));
Result<std::string> RequireString(const nlohmann::json& params, std::string_view name);
Result<std::int64_t> RequireInt(const nlohmann::json& params, std::string_view name);
Result<bool> RequireBool(const nlohmann::json& params, std::string_view name);

}  // namespace bellwether::messaging

#endif  // BELLWETHER_MESSAGING_DISPATCHER_H_
