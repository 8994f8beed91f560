#include "vault/name_memo.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

namespace bellwether::vault {
namespace {

constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kHeaderBytes = 1 + 4;
// MAC, key id, revision and the two lengths.
constexpr std::size_t kEntryFixedBytes = kMacBytes + 4 + 8 + 2 + 2;
constexpr std::size_t kInitialWriterBytes = 16 * 1024;

void PutBig(std::uint8_t* at, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    at[i] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
}

// Reads big-endian integers and byte runs, refusing to read past the end.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  std::optional<std::uint64_t> Big(std::size_t bytes) {
    if (in_.size() - at_ < bytes) return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v = (v << 8) | in_[at_ + i];
    at_ += bytes;
    return v;
  }
  std::optional<std::span<const std::uint8_t>> Bytes(std::size_t n) {
    if (in_.size() - at_ < n) return std::nullopt;
    auto out = in_.subspan(at_, n);
    at_ += n;
    return out;
  }
  bool done() const { return at_ == in_.size(); }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t at_ = 0;
};

std::optional<NameMemoEntry> ReadEntry(Reader& r) {
  NameMemoEntry e;
  auto mac = r.Bytes(kMacBytes);
  auto key_id = r.Big(4);
  auto revision = r.Big(8);
  if (!mac || !key_id || !revision ||
      *revision > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  auto sealed_size = r.Big(2);
  if (!sealed_size) return std::nullopt;
  auto sealed = r.Bytes(static_cast<std::size_t>(*sealed_size));
  auto name_size = sealed ? r.Big(2) : std::nullopt;
  if (!name_size) return std::nullopt;
  auto name = r.Bytes(static_cast<std::size_t>(*name_size));
  if (!name) return std::nullopt;
  std::copy(mac->begin(), mac->end(), e.mac.begin());
  e.key_id = static_cast<std::uint32_t>(*key_id);
  e.revision = static_cast<std::int64_t>(*revision);
  e.sealed_name = *sealed;
  e.name = std::string_view(reinterpret_cast<const char*>(name->data()), name->size());
  return e;
}

}  // namespace

NameMemoWriter::NameMemoWriter() : buffer_(crypto::SecureBytes::ForOverwrite(kInitialWriterBytes)) {
  buffer_.data()[0] = kNameMemoVersion;
  used_ = kHeaderBytes;
}

bool NameMemoWriter::Reserve(std::size_t n) {
  if (n > kMaxNameMemoBytes - used_) return false;
  if (n <= buffer_.size() - used_) return true;
  std::size_t capacity = buffer_.size();
  while (capacity - used_ < n) capacity = std::min(capacity * 2, kMaxNameMemoBytes);
  crypto::SecureBytes grown = crypto::SecureBytes::ForOverwrite(capacity);
  std::memcpy(grown.data(), buffer_.data(), used_);
  buffer_ = std::move(grown);  // Wipes the old buffer.
  return true;
}

bool NameMemoWriter::Add(const NameMemoEntry& e) {
  constexpr std::size_t kMaxRun = std::numeric_limits<std::uint16_t>::max();
  if (e.revision < 0 || e.sealed_name.size() > kMaxRun || e.name.size() > kMaxRun ||
      count_ == std::numeric_limits<std::uint32_t>::max()) {
    return false;
  }
  const std::size_t size = kEntryFixedBytes + e.sealed_name.size() + e.name.size();
  if (!Reserve(size)) return false;
  std::uint8_t* at = buffer_.data() + used_;
  std::memcpy(at, e.mac.data(), kMacBytes);
  at += kMacBytes;
  PutBig(at, e.key_id, 4);
  PutBig(at + 4, static_cast<std::uint64_t>(e.revision), 8);
  PutBig(at + 12, e.sealed_name.size(), 2);
  at += 14;
  if (!e.sealed_name.empty()) std::memcpy(at, e.sealed_name.data(), e.sealed_name.size());
  at += e.sealed_name.size();
  PutBig(at, e.name.size(), 2);
  if (!e.name.empty()) std::memcpy(at + 2, e.name.data(), e.name.size());
  used_ += size;
  ++count_;
  return true;
}

std::span<const std::uint8_t> NameMemoWriter::Finish() {
  PutBig(buffer_.data() + 1, count_, 4);
  return buffer_.span().first(used_);
}

Result<std::vector<NameMemoEntry>> ParseNameMemo(std::span<const std::uint8_t> plaintext) {
  Reader r(plaintext);
  auto version = r.Big(1);
  auto count = r.Big(4);
  if (!version || *version != kNameMemoVersion) return Status::Integrity("name memo has an unknown version");
  if (!count || *count > (plaintext.size() - kHeaderBytes) / kEntryFixedBytes) {
    return Status::Integrity("name memo counts more entries than it holds");
  }
  std::vector<NameMemoEntry> entries;
  entries.reserve(static_cast<std::size_t>(*count));
  for (std::uint64_t i = 0; i < *count; ++i) {
    auto e = ReadEntry(r);
    if (!e) return Status::Integrity("name memo entry " + std::to_string(i) + " is truncated");
    entries.push_back(*e);
  }
  if (!r.done()) return Status::Integrity("name memo has trailing bytes");
  return entries;
}

}  // namespace bellwether::vault
