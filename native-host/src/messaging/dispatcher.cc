#include "messaging/dispatcher.h"

#include <algorithm>
#include <exception>

#include "common/json_guard.h"
#include "common/log.h"
#include "common/wipe.h"
#include "messaging/frame_writer.h"

namespace bellwether::messaging {
namespace {

using nlohmann::json;

// Serialises strictly: a handler that produced invalid UTF-8 is a bug that
// must surface as an error, never as a frame the browser would reject.
Result<std::string> Serialise(const json& message) {
  try {
    return message.dump();
  } catch (const json::exception& e) {
    return Status::Internal("reply could not be encoded as JSON");
  }
}

// What an error reply may echo (null when the request's id was unusable).
bool IsValidId(const json& id) { return id.is_string() || id.is_number() || id.is_null(); }
// What a request may carry: a null id would get a reply that looks like the
// answer to an unreadable request, which no caller can match.
bool IsRequestId(const json& id) {
  return id.is_string() || id.is_number();
}

// Every string of a value, recursively (positional params, batch entries:
// requests refused unread, whose secrets are wiped all the same).
void WipeAllStrings(json& value) {
  if (value.is_string()) {
    WipeString(value.get_ref<std::string&>());
  } else if (value.is_structured()) {
    for (auto& child : value) WipeAllStrings(child);
  }
}

}  // namespace

void Dispatcher::Register(std::string method, MethodHandler handler, Runs runs) {
  handlers_[std::move(method)] = Entry{std::move(handler), runs};
}

void Dispatcher::OnShutdown(std::function<void()> hook) {
  shutdown_hooks_.push_back(std::move(hook));
}

void Dispatcher::Shutdown() const {
  for (const auto& hook : shutdown_hooks_) hook();
}

std::vector<std::string> Dispatcher::Methods() const {
  std::vector<std::string> names;
  names.reserve(handlers_.size());
  for (const auto& [name, handler] : handlers_) names.push_back(name);
  return names;
}

std::string Dispatcher::ErrorReply(const json& id, const Status& status) {
  json reply = {{"jsonrpc", "2.0"},
                {"id", IsValidId(id) ? id : json(nullptr)},
                {"error",
                 {{"code", static_cast<int>(status.code())},
                  {"message", status.message()},
                  {"data", {{"name", std::string(ErrorCodeName(status.code()))}}}}}};
  // Error messages are ours and ASCII/UTF-8; replace anything else so an
  // error reply itself can never fail to encode.
  std::string text = reply.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxOutgoingFrameBytes) {
    // A huge id (or a huge method name quoted in the message) must not make
    // the error undeliverable and end the port: answer without them.
    reply["id"] = nullptr;
    reply["error"]["message"] = "the request's id or method is too long to quote";
    text = reply.dump();
  }
  return text;
}

std::string Dispatcher::NotificationFrame(std::string_view method, const json& params) {
  json note = {{"jsonrpc", "2.0"}, {"method", method}, {"params", params}};
  return note.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Dispatcher::HandleFrame(std::string_view payload, RequestContext& ctx) const {
  Dispatched d = Dispatch(payload, ctx);
  return d.later ? d.later() : std::move(d.reply);
}

Dispatcher::Dispatched Dispatcher::Dispatch(std::string_view payload, RequestContext& ctx) const {
  const json null_id = nullptr;
  if (!IsValidUtf8(payload)) {
    return ErrorReply(null_id, Status::ParseError("frame is not valid UTF-8"));
  }
  if (JsonTextNestsDeeperThan(payload, kMaxJsonDepth)) {
    return ErrorReply(null_id, Status::ParseError("JSON nested deeper than " +
                                                  std::to_string(kMaxJsonDepth) + " levels"));
  }
  json request = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    return ErrorReply(null_id, Status::ParseError("frame is not valid JSON"));
  }
  // However this ends, secrets in the params do not outlive the call: in
  // the request until they are moved out, then in `params`. A request that
  // is refused before its params are read (a batch array, positional
  // params) has every string wiped.
  json params = json::object();
  struct WipeOnExit {
    json& request;
    json& params;
    ~WipeOnExit() {
      if (!request.is_object()) {
        WipeAllStrings(request);
      } else if (auto p = request.find("params"); p != request.end()) {
        if (p->is_object()) {
          WipeSecretParams(*p);
        } else {
          WipeAllStrings(*p);
        }
      }
      WipeSecretParams(params);
    }
  } wipe{request, params};
  if (!request.is_object()) {
    return ErrorReply(null_id, Status::InvalidRequest("request must be a JSON object"));
  }
  auto id_it = request.find("id");
  if (id_it == request.end()) {
    return ErrorReply(null_id, Status::InvalidRequest(
                                   "request has no \"id\"; notifications are only sent by the host"));
  }
  if (!IsRequestId(*id_it)) {
    return ErrorReply(null_id, Status::InvalidRequest("\"id\" must be a string or number"));
  }
  const json id = *id_it;
  auto version = request.find("jsonrpc");
  if (version == request.end() || *version != "2.0") {
    return ErrorReply(id, Status::InvalidRequest("\"jsonrpc\" must be \"2.0\""));
  }
  auto method_it = request.find("method");
  if (method_it == request.end() || !method_it->is_string()) {
    return ErrorReply(id, Status::InvalidRequest("\"method\" must be a string"));
  }
  const std::string& method = method_it->get_ref<const std::string&>();
  if (auto p = request.find("params"); p != request.end()) {
    if (!p->is_object()) {
      return ErrorReply(id, Status::InvalidParams("\"params\" must be an object (named parameters)"));
    }
    params = std::move(*p);  // One copy of the params, which WipeSecretParams() can reach.
  }
  auto entry = handlers_.find(method);
  if (entry == handlers_.end()) {
    return ErrorReply(id, Status::MethodNotFound("unknown method \"" + method + "\""));
  }
  if (entry->second.runs == Runs::kInline) return Call(entry->second.handler, method, id, params, ctx);
  // Handler and context are copied: the call must not depend on this
  // dispatcher or on the loop's state.
  return Dispatched(
      [handler = entry->second.handler, method, id, params = std::move(params), call_ctx = ctx]() mutable {
        std::string reply = Call(handler, method, id, params, call_ctx);
        WipeSecretParams(params);
        return reply;
      },
      id);
}

std::string Dispatcher::Call(const MethodHandler& handler, const std::string& method, const json& id,
                             const json& params, RequestContext& ctx) {
  Result<json> result = Status::Internal("handler did not run");
  try {
    result = handler(params, ctx);
  } catch (const std::exception& e) {
    // Internals stay in the log; the extension gets a stable code.
    log::Error("method " + method + " threw: " + e.what());
    result = Status::Internal("internal error while running " + method);
  } catch (...) {
    log::Error("method " + method + " threw a non-standard exception");
    result = Status::Internal("internal error while running " + method);
  }
  if (!result.ok()) {
    // An unexpected failure is worth a line in the host's log as well.
    if (result.status().code() == ErrorCode::kInternal) {
      log::Error("method " + method + " failed: " + result.status().message());
    }
    return ErrorReply(id, result.status());
  }

  json reply = {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result).value()}};
  Result<std::string> text = Serialise(reply);
  if (!text.ok()) return ErrorReply(id, text.status());
  if (text->size() > kMaxOutgoingFrameBytes) {
    return ErrorReply(id, Status(ErrorCode::kReplyTooLarge,
                                 "the reply to " + method + " would be " +
                                     std::to_string(text->size()) +
                                     " bytes, above the browser's 1 MiB limit; request less "
                                     "(e.g. a smaller page with \"limit\")"));
  }
  return std::move(text).value();
}

Status OnlyParams(const json& params, std::span<const std::string_view> known) {
  for (const auto& [name, value] : params.items()) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return Status::InvalidParams("unknown parameter \"" + name + "\" (known: " + list + ")");
    }
  }
  return Status::Ok();
}

Status OnlyParams(const json& params, std::initializer_list<std::string_view> known) {
  return OnlyParams(params, std::span<const std::string_view>(known.begin(), known.size()));
}

const json* OptionalParam(const json& params, std::string_view name) {
  auto it = params.find(name);
  return it == params.end() || it->is_null() ? nullptr : &*it;
}

Result<std::string> RequireString(const json& params, std::string_view name) {
  BW_ASSIGN_OR_RETURN(std::string_view value, RequireStringView(params, name));
  return std::string(value);
}

void WipeSecretParams(json& params) {
  for (const char* name : {"passphrase", "currentPassphrase"}) {
    auto it = params.find(name);
    if (it != params.end() && it->is_string()) WipeString(it->get_ref<std::string&>());
  }
}

Result<std::string_view> RequireStringView(const json& params, std::string_view name) {
  auto it = params.find(name);
  if (it == params.end()) return Status::InvalidParams("missing parameter \"" + std::string(name) + "\"");
  if (!it->is_string())
    return Status::InvalidParams("parameter \"" + std::string(name) + "\" must be a string");
  return std::string_view(it->get_ref<const std::string&>());
}

Result<std::int64_t> RequireInt(const json& params, std::string_view name) {
  auto it = params.find(name);
  if (it == params.end()) return Status::InvalidParams("missing parameter \"" + std::string(name) + "\"");
  if (!it->is_number_integer()) {
    return Status::InvalidParams("parameter \"" + std::string(name) + "\" must be an integer");
  }
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    return Status::InvalidParams("parameter \"" + std::string(name) + "\" is out of range");
  }
  return it->get<std::int64_t>();
}

Result<bool> RequireBool(const json& params, std::string_view name) {
  auto it = params.find(name);
  if (it == params.end()) return Status::InvalidParams("missing parameter \"" + std::string(name) + "\"");
  if (!it->is_boolean()) return Status::InvalidParams("parameter \"" + std::string(name) + "\" must be a boolean");
  return it->get<bool>();
}

}  // namespace bellwether::messaging
