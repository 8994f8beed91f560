#include "update/update_methods.h"

#include <memory>
#include <utility>

namespace bellwether::update {

using nlohmann::json;

void RegisterUpdateMethods(messaging::Dispatcher& dispatcher, UpdateServiceOptions options) {
  auto service = std::make_shared<UpdateService>(std::move(options));

  dispatcher.Register("update.status", [service](const json&, messaging::RequestContext& ctx) -> Result<json> {
    service->StartBackground(ctx.notify);
    return service->StatusJson();
  });

  // Runs in the background: a check waits on the network (up to its
  // timeouts), and the reader's vault requests on the same port must not
  // wait behind it.
  dispatcher.Register(
      "update.check",
      [service](const json&, messaging::RequestContext& ctx) -> Result<json> {
        service->StartBackground(ctx.notify);
        Status s = service->CheckNow(ctx.notify);
        // A failed check is a result (status.lastResult == "failed"), not an
        // RPC error; only "someone else is checking" is.
        if (s.code() == ErrorCode::kUpdateInProgress) return s;
        return service->StatusJson();
      },
      messaging::Runs::kInBackground);
  dispatcher.OnShutdown([service] { service->Stop(); });

  dispatcher.Register(
      "update.setPolicy", [service](const json& params, messaging::RequestContext&) -> Result<json> {
        // A misspelt setting must not be saved as "nothing to change".
        BW_RETURN_IF_ERROR(messaging::OnlyParams(params, {"automatic", "intervalHours"}));
        BW_ASSIGN_OR_RETURN(UpdatePolicy policy, service->LoadPolicy());
        // Both optional: absent or null leaves the setting as it is.
        if (messaging::OptionalParam(params, "automatic") != nullptr) {
          BW_ASSIGN_OR_RETURN(policy.automatic, messaging::RequireBool(params, "automatic"));
        }
        if (messaging::OptionalParam(params, "intervalHours") != nullptr) {
          BW_ASSIGN_OR_RETURN(std::int64_t hours, messaging::RequireInt(params, "intervalHours"));
          if (hours < kMinIntervalHours || hours > kMaxIntervalHours) {
            return Status::InvalidParams("intervalHours must be between " +
                                         std::to_string(kMinIntervalHours) + " and " +
                                         std::to_string(kMaxIntervalHours));
          }
          policy.interval_hours = static_cast<int>(hours);
        }
        BW_RETURN_IF_ERROR(service->SavePolicy(policy));
        return service->StatusJson();
      });

  dispatcher.Register("content.get", [service](const json&, messaging::RequestContext&) -> Result<json> {
    return service->ContentJson();
  });
}

}  // namespace bellwether::update
