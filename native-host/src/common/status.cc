#include "common/status.h"

namespace bellwether {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kParseError: return "parse_error";
    case ErrorCode::kInvalidRequest: return "invalid_request";
    case ErrorCode::kMethodNotFound: return "method_not_found";
    case ErrorCode::kInvalidParams: return "invalid_params";
    case ErrorCode::kInternal: return "internal_error";
    case ErrorCode::kCallerNotAllowed: return "caller_not_allowed";
    case ErrorCode::kReplyTooLarge: return "reply_too_large";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kVaultLocked: return "vault_locked";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kQuotaExceeded: return "quota_exceeded";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kIntegrity: return "integrity_error";
    case ErrorCode::kWrongPassphrase: return "wrong_passphrase";
    case ErrorCode::kStorageFull: return "storage_full";
    case ErrorCode::kStorage: return "storage_error";
    case ErrorCode::kKeyExhausted: return "key_exhausted";
    case ErrorCode::kUpdateInProgress: return "update_in_progress";
    case ErrorCode::kUpdateVerification: return "update_verification_failed";
    case ErrorCode::kUpdateNetwork: return "update_network_error";
    case ErrorCode::kUpdateExpired: return "update_metadata_expired";
    case ErrorCode::kUpdateRollback: return "update_rollback";
    case ErrorCode::kUpdateTooLarge: return "update_too_large";
    case ErrorCode::kUpdateNotFound: return "update_not_found";
    case ErrorCode::kUpdateTimeout: return "update_timeout";
    case ErrorCode::kUpdateNotConfigured: return "update_not_configured";
  }
  return "unknown_error";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(ErrorCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

}  // namespace bellwether
