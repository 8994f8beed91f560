#include "install/host_manifest.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "install/host_config.h"

namespace bellwether::install {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class HostManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bw-install-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    ::setenv("HOME", root_.c_str(), 1);
    ::setenv("XDG_CONFIG_HOME", (root_ / "cfg").c_str(), 1);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(HostManifestTest, ChromiumManifestListsOrigins) {
  // Chromium manifests name allowed_origins as chrome-extension://ID/.
  ManifestOptions o{Browser::kChromium, std::nullopt, "/opt/bw/bellwether-host", {std::string(32, 'c')}};
  json m = json::parse(*RenderManifest(o));
  EXPECT_EQ(m["name"], "io.bellwether.host");
  EXPECT_EQ(m["path"], "/opt/bw/bellwether-host");
  EXPECT_EQ(m["allowed_origins"][0], "chrome-extension://" + std::string(32, 'c') + "/");
  EXPECT_FALSE(m.contains("allowed_extensions"));
}

TEST_F(HostManifestTest, FirefoxManifestListsAddonIds) {
  // Firefox manifests name allowed_extensions and live under ~/.mozilla.
  ManifestOptions o{Browser::kFirefox, std::nullopt, "/opt/bw/bellwether-host", {"reader@bellwether.io"}};
  json m = json::parse(*RenderManifest(o));
  EXPECT_EQ(m["allowed_extensions"], json::array({"reader@bellwether.io"}));
  EXPECT_EQ(ManifestPath(o), root_ / ".mozilla" / "native-messaging-hosts" / "io.bellwether.host.json");
}

TEST_F(HostManifestTest, PathsWithQuotesStayValidJson) {
  // A host path with quotes or backslashes is JSON-escaped, not spliced raw.
  ManifestOptions o{Browser::kChromium, std::nullopt, "/home/o\"brien\\x/host", {std::string(32, 'a')}};
  json m = json::parse(*RenderManifest(o));
  EXPECT_EQ(m["path"], "/home/o\"brien\\x/host");
}

TEST_F(HostManifestTest, RefusesRelativeHostPathAndBadIds) {
  // Mistakes that browsers report only as "host not found" fail here, loudly.
  ManifestOptions rel{Browser::kChromium, std::nullopt, "bellwether-host", {std::string(32, 'a')}};
  EXPECT_FALSE(RenderManifest(rel).ok());
  ManifestOptions bad{Browser::kChromium, std::nullopt, "/x/host", {"not-an-id"}};
  EXPECT_FALSE(RenderManifest(bad).ok());
  ManifestOptions none{Browser::kChromium, std::nullopt, "/x/host", {}};
  EXPECT_FALSE(RenderManifest(none).ok());
  ManifestOptions ff{Browser::kFirefox, std::nullopt, "/x/host", {"no-at-sign"}};
  EXPECT_FALSE(RenderManifest(ff).ok());
}

TEST_F(HostManifestTest, UserDataDirGetsItsOwnManifestFolder) {
  // A dedicated Chromium profile reads <dir>/NativeMessagingHosts/.
  ManifestOptions o{Browser::kChromium, root_ / "profile", "/x/host", {std::string(32, 'a')}};
  EXPECT_EQ(ManifestPath(o), root_ / "profile" / "NativeMessagingHosts" / "io.bellwether.host.json");
  ManifestOptions chrome{Browser::kChrome, std::nullopt, "/x/host", {std::string(32, 'a')}};
  EXPECT_EQ(ManifestPath(chrome), root_ / "cfg" / "google-chrome" / "NativeMessagingHosts" / "io.bellwether.host.json");
}

TEST_F(HostManifestTest, InstallRecordsIdsInPrivateConfig) {
  // Installing adds the IDs to host.json (0600) without dropping earlier ones.
  ManifestOptions a{Browser::kChromium, root_ / "p", "/x/host", {std::string(32, 'a')}};
  ManifestOptions b{Browser::kChromium, root_ / "p", "/x/host", {std::string(32, 'b')}};
  ASSERT_TRUE(InstallHostManifest(a).ok());
  ASSERT_TRUE(InstallHostManifest(b).ok());
  auto config = LoadHostConfig(HostConfigPath());
  ASSERT_TRUE(config.ok());
  const auto& ids = config->chromium_extension_ids;
  EXPECT_NE(std::find(ids.begin(), ids.end(), std::string(32, 'a')), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), std::string(32, 'b')), ids.end());
  struct stat st {};
  ASSERT_EQ(::stat(HostConfigPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(HostManifestTest, ConfigWithWrongTypesIsAnError) {
  // A config whose fields have the wrong types is refused, not half-applied.
  fs::create_directories(root_ / "cfg" / "bellwether");
  std::ofstream(HostConfigPath()) << R"({"allowedExtensions":{"chromium":"abc"}})";
  EXPECT_FALSE(LoadHostConfig(HostConfigPath()).ok());
  std::ofstream(HostConfigPath()) << R"({"allowedExtensions":[]})";
  EXPECT_FALSE(LoadHostConfig(HostConfigPath()).ok());
}

TEST_F(HostManifestTest, UnreadableConfigIsAnErrorNotTheDefaults) {
  // host.json that exists but cannot be read (here: a directory) must not fall back to trusting the defaults.
  fs::create_directories(HostConfigPath());
  auto config = LoadHostConfig(HostConfigPath());
  EXPECT_FALSE(config.ok());
}

TEST_F(HostManifestTest, FirstInstallTrustsExactlyTheInstalledIds) {
  // Installing for another extension does not also trust this build's
  // default IDs, in either browser.
  ManifestOptions o{Browser::kChromium, root_ / "p", "/x/host", {std::string(32, 'c')}};
  ASSERT_TRUE(InstallHostManifest(o).ok());
  auto config = LoadHostConfig(HostConfigPath());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->chromium_extension_ids, std::vector<std::string>{std::string(32, 'c')});
  EXPECT_TRUE(config->firefox_addon_ids.empty());
}

TEST_F(HostManifestTest, ConfigLeavingABrowserOutTrustsNoOneThere) {
  // A host.json without a browser's list fails closed for that browser.
  fs::create_directories(root_ / "cfg" / "bellwether");
  std::ofstream(HostConfigPath())
      << R"({"allowedExtensions":{"chromium":["abcdefghijklmnopabcdefghijklmnop"]}})";
  auto config = LoadHostConfig(HostConfigPath());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->chromium_extension_ids.size(), 1u);
  EXPECT_TRUE(config->firefox_addon_ids.empty());
  // With no file at all the build's IDs still apply (the documented default).
  fs::remove(HostConfigPath());
  auto defaults = LoadHostConfig(HostConfigPath());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->chromium_extension_ids, HostConfig::Defaults().chromium_extension_ids);
  EXPECT_EQ(defaults->firefox_addon_ids, HostConfig::Defaults().firefox_addon_ids);
}

TEST_F(HostManifestTest, UnreadableConfigStopsTheInstallBeforeAnyManifest) {
  // No manifest that would start a host refusing every caller.
  fs::create_directories(HostConfigPath());  // A directory: unreadable as a file.
  ManifestOptions o{Browser::kChromium, root_ / "p", "/x/host", {std::string(32, 'a')}};
  EXPECT_FALSE(InstallHostManifest(o).ok());
  EXPECT_FALSE(fs::exists(ManifestPath(o)));
}

TEST_F(HostManifestTest, EmptyHomeFallsBackToThePasswordDatabaseNotTheWorkingDirectory) {
  // HOME="" must not put a manifest under a relative ".config/...".
  ::setenv("HOME", "", 1);
  ::unsetenv("XDG_CONFIG_HOME");
  ManifestOptions o{Browser::kChromium, std::nullopt, "/x/host", {std::string(32, 'a')}};
  EXPECT_TRUE(ManifestPath(o).is_absolute()) << ManifestPath(o);
  ManifestOptions f{Browser::kFirefox, std::nullopt, "/x/host", {"reader@bellwether.io"}};
  EXPECT_TRUE(ManifestPath(f).is_absolute()) << ManifestPath(f);
}

TEST_F(HostManifestTest, UninstallIsIdempotent) {
  // Removing twice is fine; the second time reports nothing removed.
  ManifestOptions o{Browser::kChromium, root_ / "p", "/x/host", {std::string(32, 'a')}};
  ASSERT_TRUE(InstallHostManifest(o).ok());
  EXPECT_TRUE(*UninstallHostManifest(o));
  EXPECT_FALSE(*UninstallHostManifest(o));
}

}  // namespace
}  // namespace bellwether::install
