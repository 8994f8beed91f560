#include "common/shared_library.h"

#include <gtest/gtest.h>

#include <cstddef>

namespace bellwether {
namespace {

// A real library resolves into callable, typed functions.
TEST(SharedLibrary, ResolvesTypedFunctions) {
  const SharedLibrary libc("libc.so.6");
  ASSERT_TRUE(libc.loaded()) << libc.error();
  EXPECT_TRUE(libc.error().empty());
  std::size_t (*length)(const char*) = nullptr;
  ASSERT_TRUE(libc.Resolve("strlen", length));
  ASSERT_NE(length, nullptr);
  EXPECT_EQ(length("bellwether"), 10u);
}

// A missing symbol is reported, and the pointer left null.
TEST(SharedLibrary, MissingSymbolIsFalse) {
  const SharedLibrary libc("libc.so.6");
  ASSERT_TRUE(libc.loaded());
  void (*nothing)() = reinterpret_cast<void (*)()>(1);  // NOLINT: a sentinel to see it cleared.
  EXPECT_FALSE(libc.Resolve("bellwether_no_such_function", nothing));
  EXPECT_EQ(nothing, nullptr);
}

// A library that is not installed says why, and resolves nothing.
TEST(SharedLibrary, MissingLibraryExplainsWhy) {
  const SharedLibrary missing("libbellwether-no-such-library.so.0");
  EXPECT_FALSE(missing.loaded());
  EXPECT_NE(missing.error().find("libbellwether-no-such-library.so.0"), std::string::npos) << missing.error();
  int (*fn)() = nullptr;
  EXPECT_FALSE(missing.Resolve("anything", fn));
}

}  // namespace
}  // namespace bellwether
