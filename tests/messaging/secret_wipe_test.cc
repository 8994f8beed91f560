// A passphrase sent to the host is overwritten before its memory is freed,
// whichever way the request ends. Observed through the heap itself: this
// binary's operator delete looks, while a test asks it to, for the
// passphrase in every block freed.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "messaging/dispatcher.h"

namespace {

std::atomic<const std::string*> g_watched{nullptr};
std::atomic<bool> g_seen{false};

void CheckFreed(void* p) {
  const std::string* watched = g_watched.load();
  if (p == nullptr || watched == nullptr) return;
  const std::size_t n = malloc_usable_size(p);
  if (memmem(p, n, watched->data(), watched->size()) != nullptr) g_seen = true;
}

}  // namespace

// This file replaces the global new/delete pair with malloc/free; GCC sees
// free() on a pointer from "new" once they are inlined into each other.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept {
  CheckFreed(p);
  std::free(p);
}
void operator delete[](void* p) noexcept {
  operator delete(p);
}
void operator delete(void* p, std::size_t) noexcept {
  operator delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  operator delete(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  operator delete(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  operator delete(p);
}

namespace bellwether::messaging {
namespace {

// Watches the heap for `secret` while it lives.
class HeapWatch {
 public:
  explicit HeapWatch(const std::string& secret) {
    g_seen = false;
    g_watched = &secret;
  }
  ~HeapWatch() { g_watched = nullptr; }
  bool seen() const { return g_seen; }
};

// Long enough for its own heap buffer; not a prefix of anything else sent.
const std::string kSecret = "correct horse battery staple, never freed in the clear";

// The request text: the passphrase, then a longer value, so the JSON
// parser's scratch buffer (freed unwiped; docs/security.md says so) holds
// the later value, and what the watch sees are the dispatcher's copies.
std::string Request(std::string_view jsonrpc, std::string_view method) {
  nlohmann::json params = {{"passphrase", kSecret}, {"zz", std::string(2 * kSecret.size(), 'z')}};
  return "{\"jsonrpc\":\"" + std::string(jsonrpc) + "\",\"id\":1,\"method\":\"" + std::string(method) +
         "\",\"params\":" + params.dump() + "}";
}

std::string DispatchWatched(const Dispatcher& dispatcher, const std::string& frame, bool* seen) {
  RequestContext ctx;
  HeapWatch watch(kSecret);
  std::string reply = dispatcher.HandleFrame(frame, ctx);
  *seen = watch.seen();
  return reply;
}

// The watch works: a passphrase freed as it is, is seen.
TEST(SecretWipe, WatchSeesAPassphraseFreedInTheClear) {
  HeapWatch watch(kSecret);
  { nlohmann::json params = {{"passphrase", kSecret}}; }
  EXPECT_TRUE(watch.seen());
}

// Refused before any handler runs (bad "jsonrpc", unknown method): the
// passphrase is still overwritten.
TEST(SecretWipe, RefusedRequestsWipeThePassphrase) {
  Dispatcher dispatcher;
  bool seen = true;
  std::string reply = DispatchWatched(dispatcher, Request("2.0 ", "vault.unlock"), &seen);
  EXPECT_NE(reply.find("\"jsonrpc\\\" must be"), std::string::npos) << reply;
  EXPECT_FALSE(seen);
  reply = DispatchWatched(dispatcher, Request("2.0", "vault.nothing"), &seen);
  EXPECT_NE(reply.find("unknown method"), std::string::npos) << reply;
  EXPECT_FALSE(seen);
}

// Refused before its params are read at all (a batch array, positional
// params): every string in it is overwritten, the passphrase included.
TEST(SecretWipe, BatchesAndPositionalParamsWipeThePassphrase) {
  Dispatcher dispatcher;
  bool seen = true;
  std::string reply = DispatchWatched(dispatcher, "[" + Request("2.0", "vault.unlock") + "]", &seen);
  EXPECT_NE(reply.find("must be a JSON object"), std::string::npos) << reply;
  EXPECT_FALSE(seen);
  const std::string positional = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"vault.unlock\",\"params\":[" +
                                 nlohmann::json(kSecret).dump() + "," +
                                 nlohmann::json(std::string(2 * kSecret.size(), 'z')).dump() + "]}";
  reply = DispatchWatched(dispatcher, positional, &seen);
  EXPECT_NE(reply.find("named parameters"), std::string::npos) << reply;
  EXPECT_FALSE(seen);
}

// A handler that reads the passphrase and fails, inline or in the
// background: overwritten too.
TEST(SecretWipe, HandledRequestsWipeThePassphrase) {
  Dispatcher dispatcher;
  auto handler = [](const nlohmann::json& params, RequestContext&) -> Result<nlohmann::json> {
    BW_ASSIGN_OR_RETURN(std::string_view passphrase, RequireStringView(params, "passphrase"));
    return Status::InvalidParams("refused a passphrase of " + std::to_string(passphrase.size()) + " bytes");
  };
  dispatcher.Register("test.inline", handler);
  dispatcher.Register("test.background", handler, Runs::kInBackground);
  for (const char* method : {"test.inline", "test.background"}) {
    bool seen = true;
    std::string reply = DispatchWatched(dispatcher, Request("2.0", method), &seen);
    EXPECT_NE(reply.find("refused a passphrase"), std::string::npos) << reply;
    EXPECT_FALSE(seen) << method;
  }
}

}  // namespace
}  // namespace bellwether::messaging
