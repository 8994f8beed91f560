// NameCache: what a record name costs the vault, computed once per process.
//
// Every record name costs a keyed operation: its HMAC-SHA256 on each get,
// set and delete, and an AES-GCM open of its sealed copy for each row a
// list returns. Both are deterministic, so the vault remembers results:
//
//  * MACs, by the exact MAC input (namespace and name). Valid while the
//    name key is: the vault clears the cache whenever it forgets or
//    replaces its keys.
//  * Opened names, by name MAC, kept with the exact sealed bytes and the
//    rest of their associated data (namespace, key id, revision), all of
//    which must match the row as read now. A hit means
//    these very bytes authenticated before in this context, so the answer
//    is the one AES-GCM would give again. One changed byte, or the same
//    blob in another row, is a miss and goes through AES-GCM and its
//    tamper checks as before.
//
// A namespace's name memo (vault/name_memo.h), loaded from the vault file,
// answers both look-ups the same way: its entries are rows and MACs this
// vault authenticated before, held as the memo's own wiped plaintext with
// two small indexes (by MAC, by name), so loading costs one pass over it.
//
// Bounded by the bytes it holds (cleared whole when full, which a reader's
// vault never reaches), and wiped (explicit_bzero) when cleared.
// Not thread-safe: the vault calls it under its own mutex.
#ifndef BELLWETHER_VAULT_NAME_CACHE_H_
#define BELLWETHER_VAULT_NAME_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "crypto/secure_bytes.h"
#include "vault/name_memo.h"

namespace bellwether::vault {

class NameCache {
 public:
  using Mac = std::array<std::uint8_t, 32>;
  static constexpr std::size_t kDefaultMaxBytes = 4u * 1024 * 1024;

  explicit NameCache(std::size_t max_bytes = kDefaultMaxBytes) : max_bytes_(max_bytes) {}
  ~NameCache() { Clear(); }
  NameCache(const NameCache&) = delete;
  NameCache& operator=(const NameCache&) = delete;

  // The MAC computed before for `mac_input`, or nullptr.
  const Mac* FindMac(std::span<const std::uint8_t> mac_input) const;
  void PutMac(std::span<const std::uint8_t> mac_input, const Mac& mac);

  // Where a sealed name was read from: every input of its associated data
  // that varies by row.
  struct NameRow {
    std::string_view ns;
    std::span<const std::uint8_t> mac;
    std::uint32_t key_id = 0;
    std::int64_t revision = 0;
    std::span<const std::uint8_t> blob;
  };

  // The name `row.blob` opened to before in this very row context, or
  // nothing. The view is valid until the next Put or Clear.
  std::optional<std::string_view> FindName(const NameRow& row) const;
  void PutName(const NameRow& row, std::string_view name);

  // A loaded memo: entries sorted by MAC (FindName), and an open-addressing
  // table of entry numbers + 1 by name (FindMac). Views point into `plain`.
  struct Memo {
    using Entry = NameMemoEntry;
    std::string ns;
    crypto::SecureBytes plain;
    std::vector<Entry> by_mac;
    std::vector<std::uint32_t> by_name;
    // The first entry whose MAC is not below `mac` (by_mac.size() if none).
    std::size_t LowerBound(const Mac& mac) const;
    const Entry* FindByMac(const Mac& mac) const;
    const Entry* FindByName(std::string_view name) const;
    std::size_t Cost() const;
    // The entry, found by the row's MAC, is this very row: key id,
    // revision and sealed bytes.
    static bool Matches(const Entry& e, const NameRow& row);
  };

  // FindName for the rows of namespace `ns` read in MAC order, as a
  // listing reads them: the memo is walked once alongside the rows rather
  // than searched for each. The same answers as FindName, whatever the
  // order; valid while the cache is (it follows a Clear or AddMemo).
  class MemoWalk {
   public:
    MemoWalk(const NameCache& cache, std::string_view ns) : cache_(cache), ns_(ns) {}
    std::optional<std::string_view> FindName(const NameRow& row);
    // Rows of `ns` so far that the memo itself did not answer in step
    // (answered from names opened before, or not at all): in a listing,
    // what a new process holding only the memo would open one by one.
    // (A row out of MAC order counts too; a listing reads none.)
    std::size_t misses() const { return misses_; }

   private:
    const NameCache& cache_;
    std::string_view ns_;
    std::uint64_t generation_ = ~std::uint64_t{0};
    const Memo* memo_ = nullptr;
    std::size_t next_ = 0;
    std::size_t misses_ = 0;
  };
  // The memo of `ns` taken in, or nullptr. Valid until the next AddMemo
  // or Clear.
  const Memo* MemoOf(std::string_view ns) const;

  // Takes in the memo of namespace `ns` (its plaintext; see
  // vault/name_memo.h), replacing any memo of `ns` held before. kIntegrity
  // for a malformed memo, kTooLarge for one the bound cannot hold; either
  // way the cache is as it was.
  Status AddMemo(std::string_view ns, crypto::SecureBytes plaintext);

  // Wipes and forgets every entry.
  void Clear();

  std::size_t bytes() const { return bytes_; }
  // A new bound, for an empty cache (the vault's, as it opens).
  void set_max_bytes(std::size_t max_bytes) { max_bytes_ = max_bytes; }
  std::size_t entries() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // An opened name: an open-addressing slot (names are looked up once per
  // listed row, so one probe in a flat array beats a node-based map).
  // Namespace, sealed bytes and name share one allocation.
  struct Opened {
    bool used = false;
    Mac mac{};
    std::uint32_t key_id = 0;
    std::int64_t revision = 0;
    std::size_t ns_size = 0, blob_size = 0;
    std::string data;  // ns || blob || name.
  };

  template <typename V>
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  // Makes room for `n` more bytes (clearing everything if it must).
  void Reserve(std::size_t n);
  // The slot holding `mac`, or the empty slot where it would go.
  std::size_t Probe(const Mac& mac) const;
  // Doubles the slot array (keeping it at most half full).
  void Grow();
  // What an opened name of `data_size` bytes counts against max_bytes_.
  static std::size_t Cost(std::size_t data_size);

  Map<Mac> macs_;
  std::vector<Opened> slots_;  // Size zero or a power of two.
  std::size_t names_ = 0;      // Slots in use.
  std::vector<Memo> memos_;    // One per namespace, few.
  std::uint64_t generation_ = 0;  // Moves whenever memos_ changes (MemoWalk).
  std::size_t bytes_ = 0;
  std::size_t max_bytes_;
};

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_NAME_CACHE_H_
