// Errors as values, shared by every module of the host.
//
// A Status is either OK or an ErrorCode with a human-readable message. The
// numeric value of each ErrorCode is the stable `error.code` the host puts on
// the wire (JSON-RPC 2.0); docs/protocol.md lists them all. Adding a code is
// fine; renumbering one breaks every extension in the field.
//
// Result<T> holds either a T or a non-OK Status (like absl::StatusOr).
#ifndef BELLWETHER_COMMON_STATUS_H_
#define BELLWETHER_COMMON_STATUS_H_

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bellwether {

enum class ErrorCode : int {
  kOk = 0,
  // JSON-RPC 2.0 reserved codes.
  kParseError = -32700,      // Not UTF-8, not JSON, nested too deep.
  kInvalidRequest = -32600,  // JSON, but not a JSON-RPC request object.
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternal = -32603,
  // Messaging layer.
  kCallerNotAllowed = -32001,  // Caller origin is not an installed extension.
  kReplyTooLarge = -32002,     // Reply would exceed the 1 MiB browser limit.
  kBusy = -32003,              // Too many slow requests running; try again.
  // Vault.
  kVaultLocked = -32010,    // Key unavailable (keyring gone or passphrase).
  kNotFound = -32011,       // No such record.
  kConflict = -32012,       // Stale expectedRevision (compare-and-set).
  kQuotaExceeded = -32013,  // Total vault quota reached.
  kTooLarge = -32014,       // Record name or value above its limit.
  kIntegrity = -32015,      // Authentication failed: tampered or moved.
  kWrongPassphrase = -32016,
  kStorageFull = -32017,   // Disk full / file size limit.
  kStorage = -32018,       // Other I/O or database failure.
  kKeyExhausted = -32019,  // Key used to its limit and rotation failing.
  // Updates.
  kUpdateInProgress = -32030,     // Another process holds the update lock.
  kUpdateVerification = -32031,   // Metadata or target failed TUF checks.
  kUpdateNetwork = -32032,        // Fetch failed (DNS, TLS, HTTP); timeouts are kUpdateTimeout.
  kUpdateExpired = -32033,        // Freeze attack or stale repository.
  kUpdateRollback = -32034,       // Version went backwards.
  kUpdateTooLarge = -32035,       // Endless-data attack: above the size limit.
  kUpdateNotFound = -32036,       // The repository has no such file (HTTP 403/404).
  kUpdateTimeout = -32037,        // Connect timeout, too slow, or past the deadline.
  kUpdateNotConfigured = -32038,  // No repository URL or trusted root set up.
};

// Stable machine-readable name, e.g. "vault_locked"; also used in logs.
std::string_view ErrorCodeName(ErrorCode code);

class Status {
 public:
  Status() = default;  // OK.
  Status(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status ParseError(std::string m) { return {ErrorCode::kParseError, std::move(m)}; }
  static Status InvalidRequest(std::string m) { return {ErrorCode::kInvalidRequest, std::move(m)}; }
  static Status MethodNotFound(std::string m) { return {ErrorCode::kMethodNotFound, std::move(m)}; }
  static Status InvalidParams(std::string m) { return {ErrorCode::kInvalidParams, std::move(m)}; }
  static Status Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
  static Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
  static Status Locked(std::string m) { return {ErrorCode::kVaultLocked, std::move(m)}; }
  static Status Integrity(std::string m) { return {ErrorCode::kIntegrity, std::move(m)}; }
  static Status TooLarge(std::string m) { return {ErrorCode::kTooLarge, std::move(m)}; }
  static Status Storage(std::string m) { return {ErrorCode::kStorage, std::move(m)}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "vault_locked: the keyring is not available" (for logs and tests).
  std::string ToString() const;

  // Prefixes context to the message, keeping the code.
  Status WithContext(std::string_view context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design.
  Result(Status status) : value_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(value_).ok() && "Result built from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(value_); }
  Status status() const { return ok() ? Status() : std::get<Status>(value_); }
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace bellwether

// Early-return helpers keep call sites flat.
#define BW_RETURN_IF_ERROR(expr)          \
  do {                                    \
    ::bellwether::Status bw_status_ = (expr); \
    if (!bw_status_.ok()) return bw_status_;  \
  } while (0)

#define BW_CONCAT_INNER_(a, b) a##b
#define BW_CONCAT_(a, b) BW_CONCAT_INNER_(a, b)
#define BW_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
#define BW_ASSIGN_OR_RETURN(lhs, expr) \
  BW_ASSIGN_OR_RETURN_IMPL_(BW_CONCAT_(bw_result_, __LINE__), lhs, expr)

#endif  // BELLWETHER_COMMON_STATUS_H_
