#include "crypto/nonce_source.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>

namespace bellwether::crypto {
namespace {

using Nonce = std::array<std::uint8_t, 12>;

Nonce Draw(NonceSource& source) {
  Nonce n{};
  EXPECT_TRUE(source.Fill(n).ok());
  return n;
}

// Every nonce is new, across many batch refills.
TEST(NonceSource, NeverRepeatsAcrossRefills) {
  NonceSource source;
  std::set<Nonce> seen;
  const std::size_t draws = 20 * (NonceSource::kBatchBytes / 12) + 7;
  for (std::size_t i = 0; i < draws; ++i) ASSERT_TRUE(seen.insert(Draw(source)).second) << "draw " << i;
}

// Two sources in one process hand out different bytes.
TEST(NonceSource, SourcesAreIndependent) {
  NonceSource a, b;
  EXPECT_NE(Draw(a), Draw(b));
}

// Requests draw from the DRBG in batches: one refill serves many nonces,
// and bytes handed out leave the buffer.
TEST(NonceSource, BuffersOneBatchAtATime) {
  NonceSource source;
  EXPECT_EQ(source.buffered_for_testing(), 0u);
  Draw(source);
  EXPECT_EQ(source.buffered_for_testing(), NonceSource::kBatchBytes - 12);
  Draw(source);
  EXPECT_EQ(source.buffered_for_testing(), NonceSource::kBatchBytes - 24);
}

// A request larger than a batch is refused, not served short.
TEST(NonceSource, RefusesOversizedRequest) {
  NonceSource source;
  std::array<std::uint8_t, NonceSource::kBatchBytes + 1> big{};
  EXPECT_FALSE(source.Fill(big).ok());
}

// After fork() the child does not reuse the buffer it inherited: its next
// nonce differs from the parent's next one (which comes from that buffer).
TEST(NonceSource, ForkedChildDoesNotReuseTheParentsBuffer) {
  NonceSource source;
  Draw(source);  // Fill the buffer before forking.
  ASSERT_GT(source.buffered_for_testing(), 0u);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Nonce n{};
    const bool ok = source.Fill(n).ok();
    const bool wrote = ok && write(fds[1], n.data(), n.size()) == static_cast<ssize_t>(n.size());
    _exit(wrote ? 0 : 1);
  }
  close(fds[1]);
  const Nonce parent_next = Draw(source);
  Nonce child_next{};
  const ssize_t got = read(fds[0], child_next.data(), child_next.size());
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, static_cast<ssize_t>(child_next.size()));
  EXPECT_NE(parent_next, child_next);
}

}  // namespace
}  // namespace bellwether::crypto
