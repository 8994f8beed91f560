#include "messaging/frame_reader.h"

#include <gtest/gtest.h>

#include <thread>

#include "pipe_fixture.h"

namespace bellwether::messaging {
namespace {

using testing::Frame;
using testing::Header;
using testing::Pipe;

TEST(FrameReader, ReadsConsecutiveFrames) {
  // Two frames back to back come out as two payloads, then a clean EOF.
  Pipe pipe;
  pipe.Write(Frame("{\"a\":1}") + Frame("[2]"));
  pipe.CloseWrite();
  FrameReader reader(pipe.read_fd());
  auto first = reader.Next();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->value(), "{\"a\":1}");
  auto second = reader.Next();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->value(), "[2]");
  auto end = reader.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST(FrameReader, CleanEofBeforeAnyFrameIsNotAnError) {
  // A browser that closes the port before sending anything ends the host with 0.
  Pipe pipe;
  pipe.CloseWrite();
  FrameReader reader(pipe.read_fd());
  auto end = reader.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST(FrameReader, AssemblesFramesFromShortReads) {
  // A frame dribbled in one byte at a time is reassembled whole.
  Pipe pipe;
  const std::string frame = Frame("{\"method\":\"host.ping\"}");
  std::thread writer([&] {
    for (char c : frame) {
      pipe.Write(std::string(1, c));
      std::this_thread::yield();
    }
    pipe.CloseWrite();
  });
  FrameReader reader(pipe.read_fd());
  auto got = reader.Next();
  writer.join();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value(), "{\"method\":\"host.ping\"}");
}

TEST(FrameReader, RejectsZeroLength) {
  // A zero length cannot be a JSON message; the stream is abandoned.
  Pipe pipe;
  pipe.Write(Header(0));
  pipe.CloseWrite();
  FrameReader reader(pipe.read_fd());
  auto got = reader.Next();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("zero"), std::string::npos);
}

TEST(FrameReader, AcceptsFrameOfExactlyTheLimit) {
  // The limit is inclusive: a frame of exactly max bytes is read.
  constexpr std::size_t kLimit = 4096;
  Pipe pipe;
  std::string payload(kLimit, 'x');
  std::thread writer([&] {
    pipe.Write(Frame(payload));
    pipe.CloseWrite();
  });
  FrameReader reader(pipe.read_fd(), kLimit);
  auto got = reader.Next();
  writer.join();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value().size(), kLimit);
}

TEST(FrameReader, RefusesFrameOneByteOverTheLimit) {
  // limit + 1 is refused from the header alone, before reading the body.
  constexpr std::size_t kLimit = 4096;
  Pipe pipe;
  pipe.Write(Header(kLimit + 1));
  FrameReader reader(pipe.read_fd(), kLimit);
  auto got = reader.Next();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("exceeds the limit"), std::string::npos);
}

TEST(FrameReader, DefaultLimitIsOneMebibyte) {
  // The default cap refuses a 1 MiB + 1 frame and a hostile 4 GiB header.
  Pipe pipe;
  pipe.Write(Header(1024 * 1024 + 1));
  FrameReader reader(pipe.read_fd());
  EXPECT_FALSE(reader.Next().ok());
  Pipe huge;
  huge.Write(Header(0xFFFFFFFFu));
  FrameReader reader2(huge.read_fd());
  EXPECT_FALSE(reader2.Next().ok());
}

TEST(FrameReader, TruncatedBodyIsFatal) {
  // EOF in the middle of a body cannot be resynchronised.
  Pipe pipe;
  pipe.Write(Header(10) + "abc");
  pipe.CloseWrite();
  FrameReader reader(pipe.read_fd());
  auto got = reader.Next();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("3 of 10"), std::string::npos);
}

TEST(FrameReader, TruncatedHeaderIsFatal) {
  // Two bytes of a four-byte header, then EOF.
  Pipe pipe;
  pipe.Write(std::string("\x05\x00", 2));
  pipe.CloseWrite();
  FrameReader reader(pipe.read_fd());
  auto got = reader.Next();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("header"), std::string::npos);
}

}  // namespace
}  // namespace bellwether::messaging
