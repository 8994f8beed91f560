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
// Bounded by the bytes it holds (cleared whole when full, which a reader's
// vault never reaches), and wiped with OPENSSL_cleanse when cleared.
// Not thread-safe: the vault calls it under its own mutex.
#ifndef BELLWETHER_VAULT_NAME_CACHE_H_
#define BELLWETHER_VAULT_NAME_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

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
  // nullptr. The pointer is valid until the next Put or Clear.
  const std::string* FindName(const NameRow& row) const;
  void PutName(const NameRow& row, std::string_view name);

  // Wipes and forgets every entry.
  void Clear();

  std::size_t bytes() const { return bytes_; }
  std::size_t entries() const { return macs_.size() + names_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Opened {
    std::string ns;
    std::uint32_t key_id = 0;
    std::int64_t revision = 0;
    std::string blob;
    std::string name;
  };
  template <typename V>
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  // Makes room for `n` more bytes (clearing everything if it must).
  void Reserve(std::size_t n);
  static std::size_t Cost(const Opened& o);

  // MACs are keyed uniform bytes: their first eight are a hash already.
  struct MacHash {
    std::size_t operator()(const Mac& mac) const;
  };

  Map<Mac> macs_;
  std::unordered_map<Mac, Opened, MacHash> names_;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_;
};

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_NAME_CACHE_H_
