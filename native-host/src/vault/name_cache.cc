#include "vault/name_cache.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace bellwether::vault {
namespace {

std::string_view AsText(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void Cleanse(std::string& s) {
  if (!s.empty()) explicit_bzero(s.data(), s.size());
}

// Bookkeeping per entry beyond the bytes it holds (node, hash, string).
constexpr std::size_t kEntryOverhead = 96;
// The smallest slot array (a power of two).
constexpr std::size_t kMinSlots = 64;

}  // namespace

const NameCache::Mac* NameCache::FindMac(std::span<const std::uint8_t> mac_input) const {
  auto it = macs_.find(AsText(mac_input));
  if (it != macs_.end()) return &it->second;
  // The input is len(ns) || ns || name (Vault): a memo of that namespace
  // may know the name.
  if (memos_.empty() || mac_input.empty() || mac_input[0] >= mac_input.size()) return nullptr;
  const std::string_view ns = AsText(mac_input.subspan(1, mac_input[0]));
  const Memo* memo = MemoOf(ns);
  if (memo == nullptr) return nullptr;
  const Memo::Entry* e = memo->FindByName(AsText(mac_input.subspan(1 + ns.size())));
  return e == nullptr ? nullptr : &e->mac;
}

void NameCache::PutMac(std::span<const std::uint8_t> mac_input, const Mac& mac) {
  Reserve(mac_input.size() + mac.size() + kEntryOverhead);
  auto [it, inserted] = macs_.try_emplace(std::string(AsText(mac_input)), mac);
  if (inserted) bytes_ += mac_input.size() + mac.size() + kEntryOverhead;
}

namespace {

// MACs are keyed uniform bytes: their first eight are a hash already.
std::size_t MacHash(const NameCache::Mac& mac) {
  std::uint64_t h = 0;
  std::memcpy(&h, mac.data(), sizeof(h));
  return static_cast<std::size_t>(h);
}

// The row's MAC as a key, if it has the length a MAC has (a damaged row
// may not; it is never remembered).
bool AsMac(std::span<const std::uint8_t> bytes, NameCache::Mac& out) {
  if (bytes.size() != out.size()) return false;
  std::memcpy(out.data(), bytes.data(), out.size());
  return true;
}

}  // namespace

// An opened name costs its bytes; the slot array is counted as a whole
// (Grow, Clear), so the bound holds however full the table is.
std::size_t NameCache::Cost(std::size_t data_size) {
  return data_size + kEntryOverhead;
}

std::size_t NameCache::Probe(const Mac& mac) const {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = MacHash(mac) & mask;
  while (slots_[i].used && slots_[i].mac != mac) i = (i + 1) & mask;
  return i;
}

std::optional<std::string_view> NameCache::FindName(const NameRow& row) const {
  Mac mac;
  if ((names_ == 0 && memos_.empty()) || !AsMac(row.mac, mac)) return std::nullopt;
  if (names_ != 0) {
    const Opened& o = slots_[Probe(mac)];
    if (o.used && o.key_id == row.key_id && o.revision == row.revision) {
      const std::string_view data(o.data);
      if (data.substr(0, o.ns_size) == row.ns && data.substr(o.ns_size, o.blob_size) == AsText(row.blob)) {
        return data.substr(o.ns_size + o.blob_size);
      }
    }
  }
  const Memo* memo = MemoOf(row.ns);
  const Memo::Entry* e = memo == nullptr ? nullptr : memo->FindByMac(mac);
  if (e == nullptr || !Memo::Matches(*e, row)) return std::nullopt;
  return e->name;
}

bool NameCache::Memo::Matches(const Entry& e, const NameRow& row) {
  return e.key_id == row.key_id && e.revision == row.revision && AsText(e.sealed_name) == AsText(row.blob);
}

std::optional<std::string_view> NameCache::MemoWalk::FindName(const NameRow& row) {
  Mac mac;
  if (!AsMac(row.mac, mac)) return std::nullopt;
  if (row.ns != ns_) return cache_.FindName(row);
  if (generation_ != cache_.generation_) {
    // First row, or the cache let go of what the walk pointed into.
    generation_ = cache_.generation_;
    memo_ = cache_.MemoOf(ns_);
    next_ = memo_ == nullptr ? 0 : memo_->LowerBound(mac);
  }
  if (memo_ != nullptr) {
    // One comparison of MACs per entry passed (memcmp orders them as
    // std::array does), then the rest of the row.
    const std::vector<Memo::Entry>& entries = memo_->by_mac;
    int order = -1;
    while (next_ < entries.size() &&
           (order = std::memcmp(entries[next_].mac.data(), mac.data(), mac.size())) < 0) {
      ++next_;
    }
    if (order == 0 && Memo::Matches(entries[next_], row)) return entries[next_].name;
  }
  ++misses_;
  return cache_.FindName(row);
}

// ---- memos

const NameCache::Memo* NameCache::MemoOf(std::string_view ns) const {
  for (const Memo& m : memos_) {
    if (m.ns == ns) return &m;
  }
  return nullptr;
}

std::size_t NameCache::Memo::LowerBound(const Mac& mac) const {
  return static_cast<std::size_t>(std::lower_bound(by_mac.begin(), by_mac.end(), mac,
                                                   [](const Entry& e, const Mac& m) { return e.mac < m; }) -
                                  by_mac.begin());
}

const NameCache::Memo::Entry* NameCache::Memo::FindByMac(const Mac& mac) const {
  const std::size_t i = LowerBound(mac);
  return i < by_mac.size() && by_mac[i].mac == mac ? &by_mac[i] : nullptr;
}

const NameCache::Memo::Entry* NameCache::Memo::FindByName(std::string_view name) const {
  if (by_name.empty()) return nullptr;
  const std::size_t mask = by_name.size() - 1;
  for (std::size_t i = std::hash<std::string_view>{}(name) & mask; by_name[i] != 0; i = (i + 1) & mask) {
    const Entry& e = by_mac[by_name[i] - 1];
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::size_t NameCache::Memo::Cost() const {
  return ns.size() + plain.size() + by_mac.size() * sizeof(Entry) + by_name.size() * sizeof(std::uint32_t) +
         kEntryOverhead;
}

Status NameCache::AddMemo(std::string_view ns, crypto::SecureBytes plaintext) {
  Memo memo;
  memo.ns = std::string(ns);
  memo.plain = std::move(plaintext);
  BW_ASSIGN_OR_RETURN(memo.by_mac, ParseNameMemo(memo.plain.span()));
  // Written in MAC order; sorted here all the same. A MAC listed twice
  // makes the memo malformed (one MAC, one name).
  auto mac_order = [](const Memo::Entry& a, const Memo::Entry& b) { return a.mac < b.mac; };
  if (!std::is_sorted(memo.by_mac.begin(), memo.by_mac.end(), mac_order)) {
    std::sort(memo.by_mac.begin(), memo.by_mac.end(), mac_order);
  }
  for (std::size_t i = 1; i < memo.by_mac.size(); ++i) {
    if (memo.by_mac[i - 1].mac == memo.by_mac[i].mac) return Status::Integrity("name memo lists a MAC twice");
  }
  std::size_t slots = kMinSlots;
  while (slots < 2 * memo.by_mac.size()) slots *= 2;
  memo.by_name.assign(slots, 0);
  for (std::size_t n = 0; n < memo.by_mac.size(); ++n) {
    std::size_t i = std::hash<std::string_view>{}(memo.by_mac[n].name) & (slots - 1);
    while (memo.by_name[i] != 0) i = (i + 1) & (slots - 1);
    memo.by_name[i] = static_cast<std::uint32_t>(n + 1);
  }
  const std::size_t cost = memo.Cost();
  if (cost > max_bytes_ / 2) return Status::TooLarge("name memo is larger than the cache may hold");
  for (auto it = memos_.begin(); it != memos_.end(); ++it) {
    if (it->ns == ns) {
      bytes_ -= std::min(bytes_, it->Cost());
      memos_.erase(it);
      break;
    }
  }
  Reserve(cost);
  bytes_ += cost;
  memos_.push_back(std::move(memo));
  ++generation_;
  return Status::Ok();
}

std::size_t NameCache::entries() const {
  std::size_t n = macs_.size() + names_;
  for (const Memo& m : memos_) n += m.by_mac.size();
  return n;
}

void NameCache::PutName(const NameRow& row, std::string_view name) {
  Mac mac;
  if (!AsMac(row.mac, mac)) return;
  const std::size_t data_size = row.ns.size() + row.blob.size() + name.size();
  const std::size_t cost = Cost(data_size);
  // Growing holds the old array and the new, twice as large, at once.
  const bool grow = slots_.empty() || 2 * (names_ + 1) > slots_.size();
  const std::size_t growth = grow ? 3 * std::max<std::size_t>(kMinSlots, slots_.size()) * sizeof(Opened) : 0;
  if (cost + growth > max_bytes_) return;  // Could never fit: not remembered.
  Reserve(cost + growth);
  if (slots_.empty() || 2 * (names_ + 1) > slots_.size()) Grow();
  Opened& o = slots_[Probe(mac)];
  if (o.used) {
    // The row moved on (new revision or key): replaced in place.
    bytes_ -= std::min(bytes_, Cost(o.data.size()));
    Cleanse(o.data);
  } else {
    o.used = true;
    o.mac = mac;
    ++names_;
  }
  o.key_id = row.key_id;
  o.revision = row.revision;
  o.ns_size = row.ns.size();
  o.blob_size = row.blob.size();
  // Built in place, at its exact size: no temporary copy of the name is
  // left behind, and no spare capacity goes uncounted.
  if (o.data.capacity() < data_size) {
    std::string().swap(o.data);  // Wiped above; released before the larger buffer.
    o.data.reserve(data_size);
  }
  o.data.assign(row.ns);
  o.data.append(AsText(row.blob));
  o.data.append(name);
  bytes_ += cost;
}

void NameCache::Grow() {
  const std::size_t size = std::max<std::size_t>(kMinSlots, 2 * slots_.size());
  bytes_ += (size - slots_.size()) * sizeof(Opened);
  std::vector<Opened> old = std::exchange(slots_, std::vector<Opened>(size));
  for (Opened& o : old) {
    // Moving a string hands over its heap buffer; nothing is left to wipe.
    if (o.used) slots_[Probe(o.mac)] = std::move(o);
  }
}

void NameCache::Reserve(std::size_t n) {
  if (bytes_ + n > max_bytes_) Clear();
}

void NameCache::Clear() {
  // A MAC entry's key holds the name in the clear: extracted, it can be
  // wiped before it is freed.
  while (!macs_.empty()) {
    auto node = macs_.extract(macs_.begin());
    Cleanse(node.key());
    OPENSSL_cleanse(node.mapped().data(), node.mapped().size());
  }
  for (Opened& o : slots_) Cleanse(o.data);
  slots_.clear();
  memos_.clear();  // SecureBytes wipes each memo's plaintext.
  ++generation_;
  names_ = 0;
  bytes_ = 0;
}

}  // namespace bellwether::vault
