#include "vault/name_cache.h"

#include <openssl/crypto.h>

#include <algorithm>

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

std::size_t NameCache::Cost(const Opened& o) {
  return sizeof(std::int64_t) + o.ns.size() + o.mac.size() + o.blob.size() + o.name.size() + kEntryOverhead;
}

const std::string* NameCache::FindName(const NameRow& row) const {
  auto it = names_.find(row.id);
  if (it == names_.end()) return nullptr;
  const Opened& o = it->second;
  if (o.key_id != row.key_id || o.revision != row.revision || o.ns != row.ns || o.mac != AsText(row.mac) ||
      o.blob != AsText(row.blob)) {
    return nullptr;
  }
  return &o.name;
}

void NameCache::PutName(const NameRow& row, std::string_view name) {
  Opened fresh{std::string(row.ns), std::string(AsText(row.mac)), row.key_id, row.revision,
               std::string(AsText(row.blob)), std::string(name)};
  const std::size_t cost = Cost(fresh);
  auto it = names_.find(row.id);
  if (it != names_.end()) {
    // The row moved on (new revision or key, or the id was reused).
    bytes_ -= std::min(bytes_, Cost(it->second));
    Cleanse(it->second.name);
    names_.erase(it);
  }
  Reserve(cost);
  names_.emplace(row.id, std::move(fresh));
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
  for (auto& [id, opened] : names_) Cleanse(opened.name);
  names_.clear();
  bytes_ = 0;
}

}  // namespace bellwether::vault
