// The name memo: a namespace's opened names, kept sealed in the vault file
// so that a new process need not open every name again.
//
// Listing a namespace returns record names, and each row's name is sealed on
// its own (AES-GCM, bound to its row). A long-lived host remembers what it
// opened (NameCache); a fresh host would pay one AES-GCM open per row. The
// memo carries that memory across processes: after a listing that had to
// open many names, the vault seals what its NameCache knows about the
// namespace into one blob (one AES-GCM open to load), and a later process
// loads it into its own NameCache.
//
// An entry says "these exact sealed bytes, in this row context (namespace,
// MAC, key id, revision), open to this name". That is a fact about bytes the
// vault authenticated itself, so it never goes stale in a harmful way: a
// row that changed no longer matches its entry and is opened as before,
// with every tamper check. A memo that is missing, damaged or moved costs
// speed only; the names it gives are ones the vault sealed. (Someone who
// can write the file can mark an old memo current again, which shows an
// earlier listing until the namespace next changes: a rollback, as of
// rows; see docs/security.md, "Name memos".) The memo
// itself is sealed like a record field (vault.cc: kind 'm', bound to its
// namespace and key), and its plaintext lives in wiped buffers.
//
// This file is the plaintext codec; vault.cc seals, stores and loads.
//
// Plaintext layout (all integers big-endian):
//   version (1 byte, = 1) || count (u32) || count × entry
//   entry: MAC (32) || key id (u32) || revision (u64) ||
//          sealed-name length (u16) || sealed name || name length (u16) || name
#ifndef BELLWETHER_VAULT_NAME_MEMO_H_
#define BELLWETHER_VAULT_NAME_MEMO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace bellwether::vault {

inline constexpr std::uint8_t kNameMemoVersion = 1;
// A memo holds at most this much plaintext (some 6,000 typical names), so
// loading one stays well inside the NameCache's bound.
inline constexpr std::size_t kMaxNameMemoBytes = 512 * 1024;

struct NameMemoEntry {
  std::array<std::uint8_t, 32> mac{};
  std::uint32_t key_id = 0;
  std::int64_t revision = 0;
  std::span<const std::uint8_t> sealed_name;
  std::string_view name;
};

// Builds a memo's plaintext in a buffer that starts small and doubles as
// needed, up to kMaxNameMemoBytes (a namespace of a few hundred names needs
// some 30 KiB). Each buffer is wiped when it is outgrown or the writer is
// destroyed, so no copy of the names is left behind.
class NameMemoWriter {
 public:
  NameMemoWriter();
  // False (and nothing added) when the entry is malformed or would not fit.
  bool Add(const NameMemoEntry& entry);
  std::size_t count() const { return count_; }
  // The plaintext so far: valid until the writer is destroyed.
  std::span<const std::uint8_t> Finish();

 private:
  // Room for `n` more bytes (false beyond kMaxNameMemoBytes).
  bool Reserve(std::size_t n);

  crypto::SecureBytes buffer_;
  std::size_t used_ = 0;
  std::uint32_t count_ = 0;
};

// The entries of `plaintext`, in order; their views point into it.
// kIntegrity for anything but a well-formed memo of this version (wrong
// version, counts or lengths that do not add up, trailing bytes).
Result<std::vector<NameMemoEntry>> ParseNameMemo(std::span<const std::uint8_t> plaintext);

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_NAME_MEMO_H_
