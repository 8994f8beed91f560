#include "crypto/nonce_source.h"

#include <openssl/crypto.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "crypto/random.h"

namespace bellwether::crypto {
namespace {

// Bumped in every child process fork() creates.
std::atomic<std::uint64_t> g_fork_generation{0};

void OnForkChild() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t ForkGeneration() {
  static std::once_flag registered;
  std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, &OnForkChild); });
  return g_fork_generation.load(std::memory_order_relaxed);
}

}  // namespace

NonceSource::NonceSource() : fork_generation_(ForkGeneration()) {}

NonceSource::~NonceSource() {
  OPENSSL_cleanse(buffer_.data(), buffer_.size());
}

Status NonceSource::Fill(std::span<std::uint8_t> out) {
  if (out.size() > kBatchBytes) return Status::InvalidParams("nonce request larger than a batch");
  const std::uint64_t generation = ForkGeneration();
  if (generation != fork_generation_) {
    // A forked copy of this buffer: the parent may hand out the same bytes.
    OPENSSL_cleanse(buffer_.data(), buffer_.size());
    used_ = kBatchBytes;
    fork_generation_ = generation;
  }
  if (kBatchBytes - used_ < out.size()) {
    OPENSSL_cleanse(buffer_.data(), buffer_.size());
    used_ = kBatchBytes;
    BW_RETURN_IF_ERROR(RandomBytes(buffer_.data(), buffer_.size()));
    used_ = 0;
  }
  std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(used_), out.size(), out.begin());
  OPENSSL_cleanse(buffer_.data() + used_, out.size());
  used_ += out.size();
  return Status::Ok();
}

}  // namespace bellwether::crypto
