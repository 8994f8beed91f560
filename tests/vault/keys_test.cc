// Key handling: locked states, never a new key over data, passphrases,
// rotation (including resume after interruption), encrypted backups.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "test_util.h"
#include "vault/key_store.h"
#include "vault/vault.h"

namespace bellwether::vault {
namespace {

using testing::RawDb;
using testing::ReadFile;
using testing::TempDir;
using testing::OpenVault;
using testing::TestOptions;


// A store whose availability the test switches (a keyring that goes away).
class SwitchableStore : public MasterKeyStore {
 public:
  KeySource source() const override { return KeySource::kKeyring; }
  std::string Describe() const override { return "test keyring"; }
  Result<crypto::SecureBytes> Load() override {
    ++loads;
    if (!available) return Status::Locked("test keyring is locked");
    if (key.empty()) return Status::NotFound("no key");
    return key.Clone();
  }
  Status Store(const crypto::SecureBytes& k) override {
    if (!available) return Status::Locked("test keyring is locked");
    if (!key.empty()) return Status::Conflict("exists");
    ++stores;
    key = k.Clone();
    return Status::Ok();
  }
  Status Erase() override {
    key.Wipe();
    return Status::Ok();
  }
  bool available = true;
  crypto::SecureBytes key;
  int loads = 0, stores = 0;
};

// Without its key file the vault is locked; it keeps the data, never makes
// a new key, and works again once the key file is back.
TEST(VaultKeys, MissingKeyFileLocksWithoutLosingData) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(v->Set("notes", "a", "precious").ok());
  }
  auto key = dir.path() / "vault.key", aside = dir.path() / "key.aside";
  std::filesystem::rename(key, aside);
  {
    auto v = OpenVault(TestOptions(dir.path()));
    EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
    EXPECT_EQ(v->Set("notes", "b", "x").status().code(), ErrorCode::kVaultLocked);
    auto st = v->GetStatus();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->state, VaultState::kLocked);
    EXPECT_FALSE(st->locked_reason.empty());
    EXPECT_FALSE(std::filesystem::exists(key)) << "a new key was created over existing data";
  }
  std::filesystem::rename(aside, key);
  auto v = OpenVault(TestOptions(dir.path()));
  auto got = v->Get("notes", "a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value, "precious");
}

// An unavailable keyring means locked (not "no key"), and the vault never
// stores a key while it is away; data opens again when it returns.
TEST(VaultKeys, UnavailableKeyringLocksAndRecovers) {
  TempDir dir;
  auto store = std::make_shared<SwitchableStore>();
  auto options = TestOptions(dir.path());
  options.key_store = store;
  {
    auto v = OpenVault(options);
    ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  }
  EXPECT_EQ(store->stores, 1);
  store->available = false;
  {
    auto v = OpenVault(options);
    EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
    EXPECT_EQ(v->GetStatus()->state, VaultState::kLocked);
    EXPECT_EQ(v->GetStatus()->key_source, KeySource::kKeyring);
  }
  store->available = true;
  auto v = OpenVault(options);
  EXPECT_EQ(v->Get("notes", "a")->value, 1);
  EXPECT_EQ(store->stores, 1);
}

// A keyring emptied behind our back (item deleted) is also "locked": the
// vault still holds a wrapped key, so it refuses to create a new one.
TEST(VaultKeys, EmptiedKeyringNeverGetsANewKeyOverData) {
  TempDir dir;
  auto store = std::make_shared<SwitchableStore>();
  auto options = TestOptions(dir.path());
  options.key_store = store;
  {
    auto v = OpenVault(options);
    ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  }
  crypto::SecureBytes saved = store->key.Clone();
  ASSERT_TRUE(store->Erase().ok());
  {
    auto v = OpenVault(options);
    EXPECT_EQ(v->Set("notes", "b", 2).status().code(), ErrorCode::kVaultLocked);
    EXPECT_TRUE(store->key.empty());
    EXPECT_EQ(store->stores, 1);
  }
  store->key = std::move(saved);
  auto v = OpenVault(options);
  EXPECT_EQ(v->Get("notes", "a")->value, 1);
}

// Another vault's master key does not open this one.
TEST(VaultKeys, ForeignMasterKeyIsLocked) {
  TempDir a, b;
  {
    auto va = OpenVault(TestOptions(a.path()));
    auto vb = OpenVault(TestOptions(b.path()));
    ASSERT_TRUE(va->Set("notes", "a", 1).ok());
    ASSERT_TRUE(vb->Set("notes", "b", 1).ok());
  }
  std::filesystem::copy_file(b.path() / "vault.key", a.path() / "vault.key",
                             std::filesystem::copy_options::overwrite_existing);
  auto v = OpenVault(TestOptions(a.path()));
  auto got = v->Get("notes", "a");
  EXPECT_EQ(got.status().code(), ErrorCode::kVaultLocked);
  EXPECT_NE(got.status().message().find("does not belong"), std::string::npos);
}

// A key file others can read is refused rather than trusted.
TEST(VaultKeys, LooseKeyFileModeIsRefused) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  }
  ::chmod((dir.path() / "vault.key").c_str(), 0644);
  auto v = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
}

// A key file that cannot be written on a full disk is the storage_full
// error, and no partial key (or temporary file) is left behind for a later
// start to trust. The write runs in a child under RLIMIT_FSIZE.
TEST(VaultKeys, KeyFileOnAFullDiskIsStorageFullAndLeavesNothing) {
  TempDir dir;
  const std::filesystem::path key_path = dir.path() / "vault.key";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of being killed.
    const rlimit limit{8, 8};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
    auto key = crypto::SecureBytes::Random(32);
    if (!key.ok()) ::_exit(11);
    const Status s = KeyFileKeyStore(key_path).Store(*key);
    if (s.ok()) ::_exit(12);
    const bool says_what = s.message().find("master key file") != std::string::npos;
    ::_exit(s.code() == ErrorCode::kStorageFull && says_what ? 0 : 13);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: setrlimit, 11: random, 12: stored anyway, 13: wrong error";
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
  // With room again, the same store works and reads back what it wrote.
  auto key = crypto::SecureBytes::Random(32);
  ASSERT_TRUE(key.ok());
  KeyFileKeyStore store(key_path);
  ASSERT_TRUE(store.Store(*key).ok());
  auto loaded = store.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->view(), key->view());
}

// A passphrase locks every new process until unlocked; a wrong one is its
// own error.
TEST(VaultPassphrase, NewProcessNeedsPassphrase) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(v->Set("notes", "a", "behind a passphrase").ok());
    ASSERT_TRUE(v->SetPassphrase("correct horse", std::nullopt).ok());
    EXPECT_TRUE(v->Get("notes", "a").ok());  // This session stays unlocked.
    EXPECT_TRUE(v->GetStatus()->passphrase_set);
  }
  auto v = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
  EXPECT_EQ(v->GetStatus()->state, VaultState::kLocked);
  EXPECT_EQ(v->Unlock("wrong horse").code(), ErrorCode::kWrongPassphrase);
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
  ASSERT_TRUE(v->Unlock("correct horse").ok());
  EXPECT_EQ(v->Get("notes", "a")->value, "behind a passphrase");
}

// A wrong passphrase given to an unlocked session is refused and changes
// nothing: the session stays unlocked (as with setPassphrase).
TEST(VaultPassphrase, WrongUnlockKeepsAnUnlockedSessionUnlocked) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", "kept").ok());
  ASSERT_TRUE(v->SetPassphrase("correct horse", std::nullopt).ok());
  EXPECT_EQ(v->Unlock("wrong horse").code(), ErrorCode::kWrongPassphrase);
  EXPECT_EQ(v->GetStatus()->state, VaultState::kUnlocked);
  EXPECT_EQ(v->Get("notes", "a")->value, "kept");
  ASSERT_TRUE(v->Unlock("correct horse").ok());
  EXPECT_EQ(v->Get("notes", "a")->value, "kept");
}

// The scrypt parameters are stored with the wrapped key and are what later
// unlocks use, whatever the options of the process; altered, they derive
// another key and the passphrase no longer opens the vault (they cannot be
// weakened in place).
TEST(VaultPassphrase, StoredScryptParametersGovernUnlock) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.passphrase_kdf = {std::uint64_t{1} << 10, 8, 1};
  {
    auto v = OpenVault(options);
    ASSERT_TRUE(v->Set("notes", "a", 1).ok());
    ASSERT_TRUE(v->SetPassphrase("correct horse", std::nullopt).ok());
  }
  RawDb raw(dir.path() / "vault.db");
  const std::string stored = raw.Text("SELECT v FROM meta WHERE k = 'passphrase_kdf'", 0);
  const auto kdf = nlohmann::json::parse(stored);
  EXPECT_EQ(kdf["name"], "scrypt");
  EXPECT_EQ(kdf["N"], 1024);
  EXPECT_EQ(kdf["r"], 8);
  EXPECT_EQ(kdf["p"], 1);
  EXPECT_EQ(kdf["salt"].get<std::string>().size(), 24u);    // 16 bytes, base64.
  options.passphrase_kdf = {std::uint64_t{1} << 11, 8, 1};  // This process would use other ones.
  {
    auto v = OpenVault(options);
    ASSERT_TRUE(v->Unlock("correct horse").ok());
    EXPECT_EQ(v->Get("notes", "a")->value, 1);
  }
  auto altered = kdf;
  altered["N"] = 2048;
  raw.Exec("UPDATE meta SET v = '" + altered.dump() + "' WHERE k = 'passphrase_kdf'");
  auto v = OpenVault(options);
  EXPECT_EQ(v->Unlock("correct horse").code(), ErrorCode::kWrongPassphrase);
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
  altered["N"] = 2;  // Below any sane cost: refused as damaged before deriving.
  raw.Exec("UPDATE meta SET v = '" + altered.dump() + "' WHERE k = 'passphrase_kdf'");
  EXPECT_EQ(v->Unlock("correct horse").code(), ErrorCode::kIntegrity);
}

// The default parameters are OWASP's for scrypt (N=2^17, r=8, p=1).
TEST(VaultPassphrase, DefaultScryptParametersAreStrong) {
  EXPECT_EQ(kDefaultPassphraseKdf.n, std::uint64_t{1} << 17);
  EXPECT_EQ(kDefaultPassphraseKdf.r, 8u);
  EXPECT_EQ(kDefaultPassphraseKdf.p, 1u);
  EXPECT_EQ(VaultOptions{}.passphrase_kdf.n, kDefaultPassphraseKdf.n);
}

// Lock wipes the keys; with a passphrase the vault stays locked until
// unlocked again.
TEST(VaultPassphrase, LockRequiresUnlock) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  EXPECT_FALSE(v->Lock());  // No passphrase: nothing keeps it locked.
  EXPECT_TRUE(v->Get("notes", "a").ok());
  ASSERT_TRUE(v->SetPassphrase("pw-1", std::nullopt).ok());
  EXPECT_TRUE(v->Lock());
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
  ASSERT_TRUE(v->Unlock("pw-1").ok());
  EXPECT_TRUE(v->Get("notes", "a").ok());
}

// Changing or removing a passphrase proves the current one.
TEST(VaultPassphrase, ChangeAndRemoveNeedCurrentPassphrase) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(v->Set("notes", "a", 1).ok());
    ASSERT_TRUE(v->SetPassphrase("old", std::nullopt).ok());
    EXPECT_EQ(v->SetPassphrase("new", std::nullopt).code(), ErrorCode::kWrongPassphrase);
    EXPECT_EQ(v->SetPassphrase("new", "not old").code(), ErrorCode::kWrongPassphrase);
    ASSERT_TRUE(v->SetPassphrase("new", "old").ok());
  }
  {
    auto v = OpenVault(TestOptions(dir.path()));
    EXPECT_EQ(v->Unlock("old").code(), ErrorCode::kWrongPassphrase);
    ASSERT_TRUE(v->Unlock("new").ok());
    ASSERT_TRUE(v->SetPassphrase(std::nullopt, "new").ok());
  }
  auto v = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(v->Get("notes", "a")->value, 1);  // No passphrase needed any more.
  EXPECT_FALSE(v->GetStatus()->passphrase_set);
}

// A wrong current passphrase is refused without locking the session.
TEST(VaultPassphrase, WrongCurrentPassphraseKeepsSessionUnlocked) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  ASSERT_TRUE(v->SetPassphrase("right", std::nullopt).ok());
  EXPECT_EQ(v->SetPassphrase("new", "wrong").code(), ErrorCode::kWrongPassphrase);
  EXPECT_TRUE(v->Get("notes", "a").ok());
}

// When another process sets a passphrase, this one forgets its keys.
TEST(VaultPassphrase, PassphraseSetElsewhereLocksThisProcess) {
  TempDir dir;
  auto a = OpenVault(TestOptions(dir.path()));
  auto b = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(a->Set("notes", "a", 1).ok());
  ASSERT_TRUE(b->Get("notes", "a").ok());
  ASSERT_TRUE(a->SetPassphrase("pw", std::nullopt).ok());
  EXPECT_EQ(b->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
}

// The keys check reads the wrap generation where its row was found last
// time (one page, not its key's index and then the table). Another row at
// that place is not taken for it; a row that moved is found by its key,
// and then where it moved to. A passphrase set elsewhere still locks.
TEST(VaultPassphrase, PassphraseSetElsewhereIsSeenWhereverItsRowMoved) {
  TempDir dir;
  auto a = OpenVault(TestOptions(dir.path()));
  auto b = OpenVault(TestOptions(dir.path()));
  const auto at_known_rowid = [&b] { return b->KeyedWorkForTesting().wrap_generations_at_known_rowid; };
  auto write_then_read = [&](int value) {
    ASSERT_TRUE(a->Set("notes", "a", value).ok());
    auto got = b->Get("notes", "a");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->value, value);
  };
  write_then_read(1);  // b finds the row by its key.
  std::uint64_t before = at_known_rowid();
  write_then_read(2);
  EXPECT_EQ(at_known_rowid(), before + 1) << "found where it was";

  RawDb raw(dir.path() / "vault.db");
  raw.SwapRowids("meta", "k = 'wrap_generation'", "k = 'created'");
  before = at_known_rowid();
  write_then_read(3);
  EXPECT_EQ(at_known_rowid(), before) << "the row now at its old place is another";
  write_then_read(4);
  EXPECT_EQ(at_known_rowid(), before + 1) << "found where it moved to";

  ASSERT_TRUE(a->SetPassphrase("pw", std::nullopt).ok());
  EXPECT_EQ(b->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
}

// Every operation of a process that unlocked earlier sees a passphrase set
// elsewhere: nothing is read, written, exported, imported or cleared with
// the keys it held. (Each checks inside its own transaction, RunUnlocked,
// which also closes the window between a check and the work; that race is
// not forced here.)
TEST(VaultPassphrase, EveryOperationSeesAPassphraseSetElsewhere) {
  TempDir dir;
  auto a = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(a->Set("notes", "a", 1).ok());
  auto backup = a->Export("backup passphrase");
  ASSERT_TRUE(backup.ok());
  std::vector<std::unique_ptr<Vault>> others;
  for (int i = 0; i < 6; ++i) {
    others.push_back(OpenVault(TestOptions(dir.path())));
    ASSERT_TRUE(others.back()->Get("notes", "a").ok());  // Unlocked.
  }
  ASSERT_TRUE(a->SetPassphrase("pw", std::nullopt).ok());
  EXPECT_EQ(others[0]->List("notes", "", std::nullopt, 10).status().code(), ErrorCode::kVaultLocked);
  EXPECT_EQ(others[1]->Clear("notes").status().code(), ErrorCode::kVaultLocked);
  EXPECT_EQ(others[2]->Export("another passphrase").status().code(), ErrorCode::kVaultLocked);
  EXPECT_EQ(others[3]->Import(backup->backup, "backup passphrase").status().code(), ErrorCode::kVaultLocked);
  EXPECT_EQ(others[4]->Set("notes", "b", 2).status().code(), ErrorCode::kVaultLocked);
  EXPECT_EQ(others[5]->Delete("notes", "a").code(), ErrorCode::kVaultLocked);
  // Nothing was cleared, deleted or added.
  auto page = a->List("notes", "", std::nullopt, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].key, "a");
}

// A vault with a fake clock, a 10-minute idle timeout, one record and the
// passphrase "pw".
struct IdleVault {
  TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::unique_ptr<Vault> v;
};

std::unique_ptr<IdleVault> OpenIdleVault() {
  auto out = std::make_unique<IdleVault>();
  auto options = TestOptions(out->dir.path());
  options.clock = out->clock;
  options.idle_timeout = std::chrono::minutes(10);
  out->v = OpenVault(options);
  if (out->v == nullptr) return nullptr;
  EXPECT_TRUE(out->v->Set("notes", "a", 1).ok());
  EXPECT_TRUE(out->v->SetPassphrase("pw", std::nullopt).ok());
  return out;
}

// After the idle timeout the keys are gone and the passphrase is needed.
TEST(VaultPassphrase, IdleTimeoutRelocks) {
  auto idle = OpenIdleVault();
  ASSERT_NE(idle, nullptr);
  auto& v = idle->v;
  auto& clock = idle->clock;
  clock->Advance(std::chrono::minutes(9));
  EXPECT_TRUE(v->Get("notes", "a").ok());  // Activity resets the timer.
  clock->Advance(std::chrono::minutes(9));
  EXPECT_TRUE(v->Get("notes", "a").ok());
  clock->Advance(std::chrono::minutes(11));
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
  ASSERT_TRUE(v->Unlock("pw").ok());
  EXPECT_TRUE(v->Get("notes", "a").ok());
}

// Looking at the status is not activity: it does not postpone the timeout.
TEST(VaultPassphrase, StatusDoesNotPostponeTheIdleTimeout) {
  auto idle = OpenIdleVault();
  ASSERT_NE(idle, nullptr);
  for (auto [minutes, state] : {std::pair{9, VaultState::kUnlocked}, std::pair{2, VaultState::kLocked}}) {
    idle->clock->Advance(std::chrono::minutes(minutes));
    auto status = idle->v->GetStatus();
    ASSERT_TRUE(status.ok()) << status.status().ToString();
    EXPECT_EQ(status->state, state) << "after " << minutes << " more minutes";
  }
  EXPECT_EQ(idle->v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
}

// The idle timer wipes keys on a quiet port, without waiting for a request.
TEST(VaultPassphrase, IdleTimerWipesKeysWithoutARequest) {
  auto idle = OpenIdleVault();
  ASSERT_NE(idle, nullptr);
  auto& v = idle->v;
  auto& clock = idle->clock;
  clock->Advance(std::chrono::minutes(9));
  EXPECT_FALSE(v->WipeKeysIfIdle());  // Not idle long enough yet.
  clock->Advance(std::chrono::minutes(2));
  EXPECT_TRUE(v->WipeKeysIfIdle());
  EXPECT_FALSE(v->WipeKeysIfIdle());  // Nothing left to wipe.
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kVaultLocked);
  ASSERT_TRUE(v->Unlock("pw").ok());
  EXPECT_EQ(v->Get("notes", "a")->value, 1);
}

// The passphrase is a second factor, not a replacement for the master key.
TEST(VaultPassphrase, PassphraseAloneDoesNotOpenWithoutMasterKey) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(v->Set("notes", "a", 1).ok());
    ASSERT_TRUE(v->SetPassphrase("pw", std::nullopt).ok());
  }
  std::filesystem::remove(dir.path() / "vault.key");
  auto v = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(v->Unlock("pw").code(), ErrorCode::kVaultLocked);
}

// A vault holding notes "k0".."k<n-1>" with values 0..n-1 (null, with a test
// failure recorded, if a write fails).
std::unique_ptr<Vault> VaultWithRecords(const VaultOptions& options, int n) {
  auto v = OpenVault(options);
  for (int i = 0; v && i < n; ++i) {
    if (!v->Set("notes", "k" + std::to_string(i), i).ok()) {
      ADD_FAILURE() << "cannot write k" << i;
      return nullptr;
    }
  }
  return v;
}

// Rotation re-seals every record under a new key and retires the old one
// (its wrapped copy is erased).
TEST(VaultRotation, ResealsEveryRecordAndRetiresOldKey) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.rotation_batch = 7;
  auto v = VaultWithRecords(options, 50);
  ASSERT_NE(v, nullptr);
  auto r = v->RotateKey();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->key_id, 2u);
  EXPECT_EQ(r->resealed, 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(v->Get("notes", "k" + std::to_string(i))->value, i);
  auto st = v->GetStatus();
  EXPECT_EQ(st->active_key_id, 2u);
  EXPECT_TRUE(st->last_rotation.has_value());
  EXPECT_FALSE(st->rotation_pending);
  RawDb raw(dir.path() / "vault.db");
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM records WHERE key_id != 2"), 0);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM keys WHERE key_id = 1 AND state = 'retired' AND wrapped IS NULL"), 1);
}

// Once a key has done its budget of encryptions, the vault rotates itself.
TEST(VaultRotation, RotatesAutomaticallyBeforeEncryptionBudget) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.rotate_after_encryptions = 20;  // Two encryptions per write.
  auto v = OpenVault(options);
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(v->Set("notes", "k" + std::to_string(i % 5), i).ok());
  auto st = v->GetStatus();
  EXPECT_GE(st->active_key_id, 3u);
  RawDb raw(dir.path() / "vault.db");
  EXPECT_LE(raw.Int("SELECT MAX(encryptions) FROM keys WHERE state != 'active'"), 20 + 2 * 5);
  for (int i = 20; i < 25; ++i) EXPECT_EQ(v->Get("notes", "k" + std::to_string(i % 5))->value, i);
}

// A damaged record cannot be re-sealed, but it does not hold the vault's
// keys hostage: automatic rotation still replaces the active key (the
// damaged record stays under its old key, reported), and every other
// record moves on.
TEST(VaultRotation, RotationGoesOnPastADamagedRecord) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.rotate_after_encryptions = 20;
  auto v = VaultWithRecords(options, 5);
  ASSERT_NE(v, nullptr);
  RawDb raw(dir.path() / "vault.db");
  auto blob = raw.Blob("SELECT value_blob FROM records ORDER BY id LIMIT 1");
  blob[blob.size() - 1] ^= 1;
  raw.SetBlob("UPDATE records SET value_blob = ? WHERE id = (SELECT MIN(id) FROM records)", blob);
  ASSERT_EQ(v->RotateKey().status().code(), ErrorCode::kIntegrity);  // Reported...
  const std::uint32_t key_after_first = v->GetStatus()->active_key_id;
  EXPECT_GE(key_after_first, 2u);  // ...but the key was replaced.
  for (int round = 0; round < 15; ++round) {
    ASSERT_TRUE(v->Set("notes", "k" + std::to_string(1 + round % 4), round).ok()) << round;
  }
  EXPECT_GT(v->GetStatus()->active_key_id, key_after_first) << "automatic rotation kept going";
  EXPECT_LE(raw.Int("SELECT MAX(encryptions) FROM keys WHERE state != 'active'"), 20 + 2 * 5);
  EXPECT_EQ(v->Get("notes", "k0").status().code(), ErrorCode::kIntegrity);
  for (int i = 1; i < 5; ++i) EXPECT_TRUE(v->Get("notes", "k" + std::to_string(i)).ok()) << i;
}

// The write that reaches a key's hard limit of encryptions tries one
// rotation and goes to the new key. Should rotation fail too, writes stop
// there (fail closed) with key_exhausted and nothing lost; a process whose
// rotation works goes on.
TEST(VaultRotation, WritesStopAtTheKeysEncryptionLimit) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.rotate_after_encryptions = 1000;  // Automatic rotation never due here.
  options.max_encryptions_per_key = 16;     // Eight writes of two encryptions.
  {
    auto v = OpenVault(options);
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(v->Set("notes", "k" + std::to_string(i % 2), i).ok()) << i;
    EXPECT_EQ(v->GetStatus()->active_key_id, 2u) << "the ninth write rotated first";
    RawDb raw(dir.path() / "vault.db");
    EXPECT_EQ(raw.Int("SELECT encryptions FROM keys WHERE key_id = 1"), 16);
  }
  options.fail_rotation_for_testing = true;
  {
    auto v = OpenVault(options);
    // Key 2 holds 6 encryptions (two records re-sealed, one write): five
    // more writes reach 16.
    for (int i = 9; i < 14; ++i) ASSERT_TRUE(v->Set("notes", "k" + std::to_string(i % 2), i).ok()) << i;
    auto refused = v->Set("notes", "k0", 14);
    ASSERT_EQ(refused.status().code(), ErrorCode::kKeyExhausted);
    EXPECT_NE(refused.status().message().find("encryption limit"), std::string::npos);
    EXPECT_EQ(v->Get("notes", "k0")->value, 12);  // The last acknowledged writes.
    EXPECT_EQ(v->Get("notes", "k1")->value, 13);
    RawDb raw(dir.path() / "vault.db");
    EXPECT_LE(raw.Int("SELECT MAX(encryptions) FROM keys"), 16);
  }
  options.fail_rotation_for_testing = false;
  auto v = OpenVault(options);
  ASSERT_TRUE(v->Set("notes", "k0", 14).ok());
  EXPECT_EQ(v->Get("notes", "k0")->value, 14);
}

// A rotation cut short (as by a kill) resumes in the next process: no
// record is lost and the old key is retired.
TEST(VaultRotation, InterruptedRotationResumes) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.rotation_batch = 5;
  options.rotation_batch_limit_for_testing = 3;
  {
    auto v = VaultWithRecords(options, 40);
    ASSERT_NE(v, nullptr);
    EXPECT_FALSE(v->RotateKey().ok());  // Stopped after 3 batches.
  }
  {
    RawDb raw(dir.path() / "vault.db");
    EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM records WHERE key_id = 2"), 15);
    EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM keys WHERE state = 'retiring'"), 1);
  }
  options.rotation_batch_limit_for_testing = 0;
  auto v = OpenVault(options);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(v->Get("notes", "k" + std::to_string(i))->value, i);
  EXPECT_FALSE(v->GetStatus()->rotation_pending);
  RawDb raw(dir.path() / "vault.db");
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM records WHERE key_id != 2"), 0);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM keys WHERE state = 'retired'"), 1);
}

// A backup restores into a new vault (different keys) completely.
TEST(VaultBackup, ExportImportIntoNewVault) {
  TempDir a, b;
  auto va = OpenVault(TestOptions(a.path()));
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(va->Set(i % 2 ? "notes" : "highlights", "k" + std::to_string(i), {{"i", i}}).ok());
  }
  auto backup = va->Export("backup pass");
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  EXPECT_EQ(backup->records, 30u);
  auto vb = OpenVault(TestOptions(b.path()));
  auto report = vb->Import(backup->backup, "backup pass");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->added, 30u);
  EXPECT_EQ(report->updated, 0u);
  EXPECT_EQ(report->unchanged, 0u);
  for (int i = 0; i < 30; ++i) {
    auto got = vb->Get(i % 2 ? "notes" : "highlights", "k" + std::to_string(i));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->value["i"], i);
  }
}

// Importing into an existing vault reports what was added, updated, and
// already identical.
TEST(VaultBackup, ImportReportsMerge) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "same", 1).ok());
  ASSERT_TRUE(v->Set("notes", "changed", "old").ok());
  ASSERT_TRUE(v->Set("notes", "gone", 3).ok());
  auto backup = v->Export("pw");
  ASSERT_TRUE(backup.ok());
  ASSERT_TRUE(v->Set("notes", "changed", "new").ok());
  ASSERT_TRUE(v->Delete("notes", "gone").ok());
  ASSERT_TRUE(v->Set("notes", "extra", 4).ok());
  auto report = v->Import(backup->backup, "pw");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->added, 1u);      // gone
  EXPECT_EQ(report->updated, 1u);    // changed: back to "old"
  EXPECT_EQ(report->unchanged, 1u);  // same
  EXPECT_EQ(v->Get("notes", "changed")->value, "old");
  EXPECT_EQ(v->Get("notes", "extra")->value, 4);  // Merge, not replace.
}

// A wrong passphrase or a modified backup is refused; nothing is merged.
TEST(VaultBackup, WrongPassphraseOrTamperedBackupIsRefused) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  auto backup = v->Export("pw");
  ASSERT_TRUE(backup.ok());
  ASSERT_TRUE(v->Delete("notes", "a").ok());
  EXPECT_EQ(v->Import(backup->backup, "other").status().code(), ErrorCode::kWrongPassphrase);
  auto doc = nlohmann::json::parse(backup->backup);
  std::string ct = doc["ciphertext"];
  ct[10] = ct[10] == 'A' ? 'B' : 'A';
  doc["ciphertext"] = ct;
  EXPECT_EQ(v->Import(doc.dump(), "pw").status().code(), ErrorCode::kWrongPassphrase);
  auto relabeled = nlohmann::json::parse(backup->backup);
  relabeled["records"] = 99;  // Header is authenticated too.
  EXPECT_EQ(v->Import(relabeled.dump(), "pw").status().code(), ErrorCode::kWrongPassphrase);
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kNotFound);
}

// Hostile scrypt parameters in a backup are refused before any work.
TEST(VaultBackup, HostileKdfParametersAreRefused) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto backup = v->Export("pw");
  ASSERT_TRUE(backup.ok());
  auto doc = nlohmann::json::parse(backup->backup);
  doc["kdf"]["N"] = std::uint64_t{1} << 30;
  EXPECT_EQ(v->Import(doc.dump(), "pw").status().code(), ErrorCode::kInvalidParams);
  EXPECT_EQ(v->Import("not json", "pw").status().code(), ErrorCode::kInvalidParams);
  EXPECT_EQ(v->Import("{\"format\":\"x\"}", "pw").status().code(), ErrorCode::kInvalidParams);
  EXPECT_EQ(v->Import("{\"format\":5}", "pw").status().code(), ErrorCode::kInvalidParams);
  auto wrong_types = nlohmann::json::parse(backup->backup);
  wrong_types["kdf"]["name"] = 7;
  EXPECT_EQ(v->Import(wrong_types.dump(), "pw").status().code(), ErrorCode::kInvalidParams);
  wrong_types["kdf"] = "scrypt";
  EXPECT_EQ(v->Import(wrong_types.dump(), "pw").status().code(), ErrorCode::kInvalidParams);
}

// Nesting in a backup is bounded before it is parsed or copied: a hostile
// file is a clear error, never a stack overflow. Values as deep as the vault
// holds still go through export and import.
TEST(VaultBackup, NestingIsBoundedAndDeepValuesRoundTrip) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  nlohmann::json deepest = 1;
  for (int i = 0; i < kMaxValueDepth; ++i) deepest = nlohmann::json::array({deepest});
  ASSERT_TRUE(v->Set("notes", "deep", deepest).ok());
  EXPECT_EQ(v->Set("notes", "deeper", nlohmann::json::array({deepest})).status().code(),
            ErrorCode::kInvalidParams);
  auto backup = v->Export("pw");
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  ASSERT_TRUE(v->Delete("notes", "deep").ok());
  auto report = v->Import(backup->backup, "pw");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(v->Get("notes", "deep")->value, deepest);

  const std::string bomb = std::string(200000, '[') + std::string(200000, ']');
  auto doc = nlohmann::json::parse(backup->backup);
  std::string hostile = doc.dump();
  hostile.insert(hostile.size() - 1, ",\"extra\":" + bomb);
  EXPECT_EQ(v->Import(hostile, "pw").status().code(), ErrorCode::kInvalidParams);
  std::string in_kdf = doc.dump();
  const std::string kdf_key = "\"kdf\":{";
  in_kdf.insert(in_kdf.find(kdf_key) + kdf_key.size(), "\"x\":" + bomb + ",");
  EXPECT_EQ(v->Import(in_kdf, "pw").status().code(), ErrorCode::kInvalidParams);
  EXPECT_EQ(v->Import(bomb, "pw").status().code(), ErrorCode::kInvalidParams);
}

// The vault never writes a backup it would refuse to read: an export over
// the size a backup may have is refused, and so is such an import.
TEST(VaultBackup, ExportLargerThanABackupMayBeIsRefused) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.max_backup_bytes = 16 * 1024;
  auto v = OpenVault(options);
  ASSERT_TRUE(v->Set("notes", "small", "fits").ok());
  auto small = v->Export("pw");
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_LE(small->backup.size(), options.max_backup_bytes);
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(v->Set("notes", "k" + std::to_string(i), std::string(1000, 'x')).ok());
  auto large = v->Export("pw");
  EXPECT_EQ(large.status().code(), ErrorCode::kTooLarge);

  TempDir other;
  auto roomy_options = TestOptions(other.path());
  auto roomy = OpenVault(roomy_options);
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(roomy->Set("notes", "k" + std::to_string(i), std::string(1000, 'x')).ok());
  auto big = roomy->Export("pw");
  ASSERT_TRUE(big.ok());
  ASSERT_GT(big->backup.size(), options.max_backup_bytes);
  EXPECT_EQ(v->Import(big->backup, "pw").status().code(), ErrorCode::kTooLarge);
  EXPECT_TRUE(v->Import(small->backup, "pw").ok());
}

// An import that would exceed the quota merges nothing at all.
TEST(VaultBackup, ImportIsAllOrNothing) {
  TempDir a, b;
  auto va = OpenVault(TestOptions(a.path()));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(va->Set("notes", "k" + std::to_string(i), std::string(1000, 'x')).ok());
  auto backup = va->Export("pw");
  ASSERT_TRUE(backup.ok());
  auto options = TestOptions(b.path());
  options.quota_bytes = 5000;
  auto vb = OpenVault(options);
  EXPECT_EQ(vb->Import(backup->backup, "pw").status().code(), ErrorCode::kQuotaExceeded);
  EXPECT_EQ(vb->GetStatus()->record_count, 0u);
}

// The backup text holds no plaintext record names or values.
TEST(VaultBackup, BackupHoldsNoPlaintext) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "SECRET-NAME-123", "SECRET-VALUE-456").ok());
  auto backup = v->Export("pw");
  ASSERT_TRUE(backup.ok());
  EXPECT_EQ(backup->backup.find("SECRET-NAME-123"), std::string::npos);
  EXPECT_EQ(backup->backup.find("SECRET-VALUE-456"), std::string::npos);
}

}  // namespace
}  // namespace bellwether::vault
