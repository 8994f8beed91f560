#include "messaging/caller_check.h"

#include <gtest/gtest.h>

namespace bellwether::messaging {
namespace {

constexpr char kId[] = "obajhhhbadjoohblhiihokphelkapblg";

TEST(CallerCheck, ParsesChromiumOrigin) {
  // Chromium's first argument is chrome-extension://<id>/.
  auto caller = ParseCallerArguments({std::string("chrome-extension://") + kId + "/"});
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->browser, BrowserFamily::kChromium);
  EXPECT_EQ(caller->extension_id, kId);
}

TEST(CallerCheck, ChromiumAlsoPassesParentWindowArgument) {
  // On some platforms Chromium adds --parent-window=N; the origin still rules.
  auto caller = ParseCallerArguments({std::string("chrome-extension://") + kId + "/", "--parent-window=0"});
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->extension_id, kId);
}

TEST(CallerCheck, ParsesFirefoxManifestAndAddonId) {
  // Firefox passes the manifest path, then the add-on ID.
  std::vector<std::string> args = {"/home/u/.mozilla/native-messaging-hosts/io.bellwether.host.json",
                                   "reader@bellwether.io"};
  EXPECT_TRUE(LooksLikeBrowserLaunch(args));
  auto caller = ParseCallerArguments(args);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->browser, BrowserFamily::kFirefox);
  EXPECT_EQ(caller->extension_id, "reader@bellwether.io");
}

TEST(CallerCheck, RejectsMalformedOrigins) {
  // IDs of the wrong length or alphabet are not callers at all.
  EXPECT_FALSE(ParseCallerArguments({"chrome-extension://short/"}).ok());
  EXPECT_FALSE(ParseCallerArguments({"chrome-extension://OBAJHHHBADJOOHBLHIIHOKPHELKAPBLG/"}).ok());
  EXPECT_FALSE(ParseCallerArguments({"chrome-extension://zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz/"}).ok());
  EXPECT_FALSE(ParseCallerArguments({}).ok());
}

TEST(CallerCheck, AllowsOnlyInstalledIds) {
  // A well-formed but unknown extension is refused with caller_not_allowed.
  CallerInfo caller{BrowserFamily::kChromium, std::string(32, 'a')};
  Status s = CheckCallerAllowed(caller, {kId});
  EXPECT_EQ(s.code(), ErrorCode::kCallerNotAllowed);
  caller.extension_id = kId;
  EXPECT_TRUE(CheckCallerAllowed(caller, {kId}).ok());
}

TEST(CallerCheck, CliCommandsAreNotBrowserLaunches) {
  // `bellwether-host install` must not be mistaken for a browser.
  EXPECT_FALSE(LooksLikeBrowserLaunch({"install"}));
  EXPECT_FALSE(LooksLikeBrowserLaunch({"--version"}));
  EXPECT_FALSE(LooksLikeBrowserLaunch({}));
}

}  // namespace
}  // namespace bellwether::messaging
