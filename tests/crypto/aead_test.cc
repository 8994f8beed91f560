#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace bellwether::crypto {
namespace {

std::vector<std::uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// A sealed message opens to its plaintext under the same key, nonce and AAD.
TEST(AesGcm, RoundTrip) {
  std::vector<std::uint8_t> key(32, 7), nonce(12, 1);
  auto sealed = AesGcmSeal(key, nonce, Bytes("hello vault"), Bytes("aad"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 11 + kGcmTagBytes);
  auto opened = AesGcmOpen(key, nonce, *sealed, Bytes("aad"));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->view(), "hello vault");
}

// Different associated data means a different context: opening fails.
TEST(AesGcm, RejectsDifferentAad) {
  std::vector<std::uint8_t> key(32, 7), nonce(12, 1);
  auto sealed = AesGcmSeal(key, nonce, Bytes("x"), Bytes("row 1"));
  ASSERT_TRUE(sealed.ok());
  auto opened = AesGcmOpen(key, nonce, *sealed, Bytes("row 2"));
  EXPECT_EQ(opened.status().code(), ErrorCode::kIntegrity);
}

// Every single-bit flip anywhere in the sealed bytes is detected.
TEST(AesGcm, DetectsEveryBitFlip) {
  std::vector<std::uint8_t> key(32, 9), nonce(12, 3);
  auto sealed = AesGcmSeal(key, nonce, Bytes("secret note"), {});
  ASSERT_TRUE(sealed.ok());
  for (std::size_t i = 0; i < sealed->size() * 8; ++i) {
    auto copy = *sealed;
    copy[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    EXPECT_EQ(AesGcmOpen(key, nonce, copy, {}).status().code(), ErrorCode::kIntegrity) << i;
  }
}

// Input shorter than the tag is an integrity failure, not a crash.
TEST(AesGcm, RejectsTruncatedInput) {
  std::vector<std::uint8_t> key(32, 9), nonce(12, 3);
  std::vector<std::uint8_t> short_input(5, 0);
  EXPECT_EQ(AesGcmOpen(key, nonce, short_input, {}).status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(AesGcmOpen(key, nonce, {}, {}).status().code(), ErrorCode::kIntegrity);
}

// Bad key and nonce lengths are parameter errors.
TEST(AesGcm, RejectsBadKeyAndNonceLengths) {
  std::vector<std::uint8_t> key(31, 1), good_key(32, 1), nonce(12, 0), long_nonce(16, 0);
  EXPECT_EQ(AesGcmSeal(key, nonce, {}, {}).status().code(), ErrorCode::kInvalidParams);
  EXPECT_EQ(AesGcmSeal(good_key, long_nonce, {}, {}).status().code(), ErrorCode::kInvalidParams);
}

}  // namespace
}  // namespace bellwether::crypto

namespace bellwether::crypto {
namespace {

// A reusable key gives the same bytes as the one-shot functions, message
// after message, and a failed open does not disturb the next one.
TEST(AesGcmKey, MatchesOneShotAcrossMessages) {
  std::vector<std::uint8_t> raw(32, 0x42);
  auto key = AesGcmKey::Create(raw);
  ASSERT_TRUE(key.ok());
  for (int i = 0; i < 5; ++i) {
    std::vector<std::uint8_t> nonce(12, static_cast<std::uint8_t>(i));
    std::string msg = "message " + std::to_string(i);
    std::vector<std::uint8_t> plain(msg.begin(), msg.end()), aad(3, static_cast<std::uint8_t>(i));
    std::vector<std::uint8_t> sealed;
    ASSERT_TRUE(key->SealAppend(nonce, plain, aad, sealed).ok());
    EXPECT_EQ(sealed, *AesGcmSeal(raw, nonce, plain, aad));
    auto bad = sealed;
    bad[0] ^= 1;
    EXPECT_EQ(key->Open(nonce, bad, aad).status().code(), ErrorCode::kIntegrity);
    auto opened = key->Open(nonce, sealed, aad);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(opened->view(), msg);
  }
}

// OpenInto writes the same plaintext as Open into the caller's buffer,
// refuses a buffer of another size, and wipes the buffer whenever the
// message fails to authenticate (so no unauthenticated byte is left there).
TEST(AesGcmKey, OpenIntoFillsTheCallersBufferOrWipesIt) {
  std::vector<std::uint8_t> raw(32, 0x17), nonce(12, 5), aad = Bytes("row");
  auto key = AesGcmKey::Create(raw);
  ASSERT_TRUE(key.ok());
  const std::vector<std::uint8_t> plain = Bytes("a note the reader wrote");
  std::vector<std::uint8_t> sealed;
  ASSERT_TRUE(key->SealAppend(nonce, plain, aad, sealed).ok());

  std::vector<std::uint8_t> out(plain.size(), 0xAA);
  ASSERT_TRUE(key->OpenInto(nonce, sealed, aad, out).ok());
  EXPECT_EQ(out, plain);

  std::vector<std::uint8_t> wrong_size(plain.size() + 1, 0xAA);
  EXPECT_FALSE(key->OpenInto(nonce, sealed, aad, wrong_size).ok());

  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x80;
    std::fill(out.begin(), out.end(), 0xAA);
    EXPECT_EQ(key->OpenInto(nonce, bad, aad, out).code(), ErrorCode::kIntegrity) << i;
    EXPECT_EQ(out, std::vector<std::uint8_t>(plain.size(), 0)) << "byte " << i << " flipped";
  }
  std::vector<std::uint8_t> none;
  std::vector<std::uint8_t> sealed_empty;
  ASSERT_TRUE(key->SealAppend(nonce, none, aad, sealed_empty).ok());
  EXPECT_TRUE(key->OpenInto(nonce, sealed_empty, aad, none).ok());
}

}  // namespace
}  // namespace bellwether::crypto
