#include "crypto/secure_bytes.h"

#include <gtest/gtest.h>

namespace bellwether::crypto {
namespace {

// Moving transfers ownership; the source is left empty, not a second copy.
TEST(SecureBytes, MoveLeavesSourceEmpty) {
  SecureBytes a = SecureBytes::CopyOf(std::string_view("key material"));
  const std::uint8_t* p = a.data();
  SecureBytes b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.view(), "key material");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the property under test.
}

// Wipe releases the bytes and resets the size.
TEST(SecureBytes, WipeEmpties) {
  auto r = SecureBytes::Random(32);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 32u);
  r->Wipe();
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(r->data(), nullptr);
}

// Two random buffers differ (the DRBG is actually used).
TEST(SecureBytes, RandomBuffersDiffer) {
  auto a = SecureBytes::Random(32);
  auto b = SecureBytes::Random(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->view(), b->view());
}

// The sized constructor gives zeros (HMAC pads rely on it); ForOverwrite
// gives the same size for a caller that fills it, and an empty buffer for 0.
TEST(SecureBytes, SizedConstructorZeroesAndForOverwriteSizes) {
  SecureBytes zeros(48);
  EXPECT_EQ(zeros.view(), std::string(48, '\0'));
  SecureBytes filled = SecureBytes::ForOverwrite(48);
  ASSERT_EQ(filled.size(), 48u);
  for (std::size_t i = 0; i < filled.size(); ++i) filled.data()[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(filled.data()[47], 47);
  EXPECT_TRUE(SecureBytes::ForOverwrite(0).empty());
  EXPECT_EQ(SecureBytes::ForOverwrite(0).data(), nullptr);
}

}  // namespace
}  // namespace bellwether::crypto
