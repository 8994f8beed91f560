#include "messaging/frame_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "pipe_fixture.h"

namespace bellwether::messaging {
namespace {

using testing::Pipe;

std::vector<std::string> SplitFrames(const std::string& bytes) {
  std::vector<std::string> frames;
  std::size_t off = 0;
  while (off + 4 <= bytes.size()) {
    std::uint32_t len;
    std::memcpy(&len, bytes.data() + off, 4);
    frames.push_back(bytes.substr(off + 4, len));
    off += 4 + len;
  }
  EXPECT_EQ(off, bytes.size()) << "trailing bytes after the last frame";
  return frames;
}

TEST(FrameWriter, WritesNativeByteOrderLengthThenPayload) {
  // The header is the payload length as a native-endian uint32.
  Pipe pipe;
  FrameWriter writer(pipe.write_fd());
  ASSERT_TRUE(writer.Write("{\"ok\":true}").ok());
  pipe.CloseWrite();
  std::string bytes = pipe.ReadAll();
  ASSERT_EQ(bytes.size(), 4u + 11u);
  std::uint32_t len;
  std::memcpy(&len, bytes.data(), 4);
  EXPECT_EQ(len, 11u);
  EXPECT_EQ(bytes.substr(4), "{\"ok\":true}");
}

TEST(FrameWriter, AcceptsExactlyOneMebibyte) {
  // 1,048,576 bytes is the largest message Chrome and Firefox accept from a host.
  Pipe pipe;
  FrameWriter writer(pipe.write_fd());
  std::string payload(kMaxOutgoingFrameBytes, 'a');
  std::string received;
  std::thread reader([&] { received = pipe.ReadAll(); });
  ASSERT_TRUE(writer.Write(payload).ok());
  pipe.CloseWrite();
  reader.join();
  EXPECT_EQ(received.size(), kMaxOutgoingFrameBytes + 4);
}

TEST(FrameWriter, RefusesOneByteOverAndWritesNothing) {
  // A too-large reply is refused whole; no partial frame reaches the browser.
  Pipe pipe;
  FrameWriter writer(pipe.write_fd());
  Status s = writer.Write(std::string(kMaxOutgoingFrameBytes + 1, 'a'));
  EXPECT_EQ(s.code(), ErrorCode::kReplyTooLarge);
  pipe.CloseWrite();
  EXPECT_TRUE(pipe.ReadAll().empty());
}

TEST(FrameWriter, ConcurrentWritersNeverInterleave) {
  // Replies and background notifications from two threads stay whole frames.
  Pipe pipe;
  FrameWriter writer(pipe.write_fd());
  std::string received;
  std::thread reader([&] { received = pipe.ReadAll(); });
  auto spam = [&](char c) {
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(writer.Write(std::string(5000, c)).ok());
  };
  std::thread a(spam, 'a');
  std::thread b(spam, 'b');
  a.join();
  b.join();
  pipe.CloseWrite();
  reader.join();
  auto frames = SplitFrames(received);
  ASSERT_EQ(frames.size(), 400u);
  for (const auto& f : frames) {
    ASSERT_EQ(f.size(), 5000u);
    EXPECT_EQ(f.find_first_not_of(f[0]), std::string::npos) << "frame mixes two writers";
  }
}

}  // namespace
}  // namespace bellwether::messaging
