#include "vault/name_cache.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

namespace bellwether::vault {
namespace {

std::string_view AsText(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void Cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

// Bookkeeping per entry beyond the bytes it holds (node, hash, strings).
constexpr std::size_t kEntryOverhead = 96;

}  // namespace

const NameCache::Mac* NameCache::FindMac(std::span<const std::uint8_t> mac_input) const {
  auto it = macs_.find(AsText(mac_input));
  return it == macs_.end() ? nullptr : &it->second;
}

void NameCache::PutMac(std::span<const std::uint8_t> mac_input, const Mac& mac) {
  Reserve(mac_input.size() + mac.size() + kEntryOverhead);
  auto [it, inserted] = macs_.try_emplace(std::string(AsText(mac_input)), mac);
  if (inserted) bytes_ += mac_input.size() + mac.size() + kEntryOverhead;
}

std::size_t NameCache::MacHash::operator()(const Mac& mac) const {
  std::uint64_t h = 0;
  std::memcpy(&h, mac.data(), sizeof(h));
  return static_cast<std::size_t>(h);
}

std::size_t NameCache::Cost(const Opened& o) {
  return sizeof(Mac) + o.ns.size() + o.blob.size() + o.name.size() + kEntryOverhead;
}

namespace {

// The row's MAC as a key, if it has the length a MAC has (a damaged row
// may not; it is never remembered).
bool AsMac(std::span<const std::uint8_t> bytes, NameCache::Mac& out) {
  if (bytes.size() != out.size()) return false;
  std::memcpy(out.data(), bytes.data(), out.size());
  return true;
}

}  // namespace

const std::string* NameCache::FindName(const NameRow& row) const {
  Mac mac;
  if (!AsMac(row.mac, mac)) return nullptr;
  auto it = names_.find(mac);
  if (it == names_.end()) return nullptr;
  const Opened& o = it->second;
  if (o.key_id != row.key_id || o.revision != row.revision || o.ns != row.ns || o.blob != AsText(row.blob)) {
    return nullptr;
  }
  return &o.name;
}

void NameCache::PutName(const NameRow& row, std::string_view name) {
  Mac mac;
  if (!AsMac(row.mac, mac)) return;
  auto it = names_.find(mac);
  if (it != names_.end()) {
    // The row moved on (new revision or key).
    bytes_ -= std::min(bytes_, Cost(it->second));
    Cleanse(it->second.name);
    names_.erase(it);
  }
  const std::size_t cost = sizeof(Mac) + row.ns.size() + row.blob.size() + name.size() + kEntryOverhead;
  Reserve(cost);
  // Built in place: no temporary copy of the name is left behind.
  Opened& o = names_[mac];
  o.ns.assign(row.ns);
  o.key_id = row.key_id;
  o.revision = row.revision;
  o.blob.assign(AsText(row.blob));
  o.name.assign(name);
  bytes_ += cost;
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
  for (auto& [mac, opened] : names_) Cleanse(opened.name);
  names_.clear();
  bytes_ = 0;
}

}  // namespace bellwether::vault
