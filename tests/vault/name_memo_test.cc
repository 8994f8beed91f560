// Name memos (vault/name_memo.h): the codec refuses anything malformed, a
// memo answers look-ups only for the exact rows it lists, the vault keeps
// it current through every kind of change, and a memo that is damaged,
// moved or stale costs speed only, never a wrong listing.
#include "vault/name_memo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"
#include "vault/name_cache.h"
#include "vault/vault.h"

namespace bellwether::vault {
namespace {

using testing::OpenVault;
using testing::RawDb;
using testing::TempDir;
using testing::TestOptions;
using testing::B;
using Bytes = std::vector<std::uint8_t>;

struct OwnedEntry {
  Bytes mac;
  std::uint32_t key_id;
  std::int64_t revision;
  Bytes sealed;
  std::string name;
};

std::vector<OwnedEntry> SampleEntries() {
  return {{Bytes(32, 1), 1, 10, B("sealed-a"), "section-1/note"},
          {Bytes(32, 2), 1, 11, B("sealed-bb"), "section-2/note"},
          {Bytes(32, 3), 2, 0, B(""), ""}};
}

NameMemoEntry View(const OwnedEntry& e) {
  NameMemoEntry v{{}, e.key_id, e.revision, e.sealed, e.name};
  std::copy(e.mac.begin(), e.mac.end(), v.mac.begin());
  return v;
}

crypto::SecureBytes Encode(const std::vector<OwnedEntry>& entries) {
  NameMemoWriter writer;
  for (const auto& e : entries) EXPECT_TRUE(writer.Add(View(e)));
  return crypto::SecureBytes::CopyOf(writer.Finish());
}

std::vector<OwnedEntry> Decode(std::span<const std::uint8_t> plain, Status* status) {
  std::vector<OwnedEntry> out;
  auto parsed = ParseNameMemo(plain);
  *status = parsed.status();
  if (!parsed.ok()) return out;
  for (const NameMemoEntry& e : *parsed) {
    out.push_back({Bytes(e.mac.begin(), e.mac.end()), e.key_id, e.revision,
                   Bytes(e.sealed_name.begin(), e.sealed_name.end()), std::string(e.name)});
  }
  return out;
}

// Encodes `entries` and decodes them again: every field comes back.
void ExpectRoundTrip(const std::vector<OwnedEntry>& entries) {
  const auto plain = Encode(entries);
  Status status;
  const auto back = Decode(plain.span(), &status);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(back.size(), entries.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].mac, entries[i].mac);
    EXPECT_EQ(back[i].key_id, entries[i].key_id);
    EXPECT_EQ(back[i].revision, entries[i].revision);
    EXPECT_EQ(back[i].sealed, entries[i].sealed);
    EXPECT_EQ(back[i].name, entries[i].name);
  }
}

TEST(NameMemo, RoundTripsEveryField) {
  ExpectRoundTrip(SampleEntries());
}

// Every prefix of a memo is malformed.
TEST(NameMemo, EveryTruncationIsRefusedWhole) {
  const auto plain = Encode(SampleEntries());
  for (std::size_t n = 0; n < plain.size(); ++n) {
    Status status;
    const auto back = Decode(plain.span().first(n), &status);
    EXPECT_EQ(status.code(), ErrorCode::kIntegrity) << "prefix of " << n << " bytes";
    EXPECT_TRUE(back.empty()) << "prefix of " << n << " bytes";
  }
}

TEST(NameMemo, RefusesTrailingBytesUnknownVersionAndImpossibleCounts) {
  const auto plain = Encode(SampleEntries());
  Bytes longer(plain.span().begin(), plain.span().end());
  longer.push_back(0);
  Status status;
  EXPECT_TRUE(Decode(longer, &status).empty());
  EXPECT_EQ(status.code(), ErrorCode::kIntegrity);

  Bytes version(plain.span().begin(), plain.span().end());
  version[0] = kNameMemoVersion + 1;
  EXPECT_TRUE(Decode(version, &status).empty());
  EXPECT_EQ(status.code(), ErrorCode::kIntegrity);

  Bytes count(plain.span().begin(), plain.span().end());
  std::fill(count.begin() + 1, count.begin() + 5, 0xff);  // 2^32 - 1 entries.
  EXPECT_TRUE(Decode(count, &status).empty());
  EXPECT_EQ(status.code(), ErrorCode::kIntegrity);

  Bytes revision(plain.span().begin(), plain.span().end());
  revision[5 + 32 + 4] = 0x80;  // First entry's revision above 2^63 - 1.
  EXPECT_TRUE(Decode(revision, &status).empty());
  EXPECT_EQ(status.code(), ErrorCode::kIntegrity);
}

// The writer's buffer grows as entries come (from a few KiB to the bound):
// every entry reads back as written, across each growth.
TEST(NameMemo, EntriesSurviveTheWritersGrowth) {
  std::vector<OwnedEntry> entries;
  for (int i = 0; i < 3000; ++i) {
    Bytes mac(32, static_cast<std::uint8_t>(i));
    mac[0] = static_cast<std::uint8_t>(i >> 8);
    entries.push_back({mac, static_cast<std::uint32_t>(i % 7), i * 3,
                       Bytes(40 + i % 50, static_cast<std::uint8_t>(i)),
                       "section-" + std::to_string(i) + "/note"});
  }
  EXPECT_GT(Encode(entries).size(), 200u * 1024) << "several doublings";
  ExpectRoundTrip(entries);
}

TEST(NameMemo, WriterStopsAtItsBoundAndRefusesMalformedEntries) {
  NameMemoWriter writer;
  const Bytes sealed(600, 's');
  const std::string name(512, 'n');
  const OwnedEntry big{Bytes(32, 9), 1, 1, sealed, name};
  std::size_t added = 0;
  while (writer.Add(View(big))) ++added;
  EXPECT_GT(added, 300u);
  EXPECT_EQ(writer.count(), added);
  EXPECT_LE(writer.Finish().size(), kMaxNameMemoBytes);
  Status status;
  EXPECT_EQ(Decode(writer.Finish(), &status).size(), added);
  EXPECT_TRUE(status.ok());

  NameMemoWriter other;
  EXPECT_FALSE(other.Add(View({Bytes(32, 1), 1, -1, sealed, "x"}))) << "revisions are not negative";
  EXPECT_FALSE(other.Add(View({Bytes(32, 1), 1, 1, Bytes(70000, 's'), "x"}))) << "lengths fit 16 bits";
  EXPECT_EQ(other.count(), 0u);
}

TEST(NameCache, MemoAnswersOnlyForItsExactRows) {
  NameCache cache;
  ASSERT_TRUE(cache.AddMemo("notes", Encode(SampleEntries())).ok());
  const Bytes mac(32, 2), sealed = B("sealed-bb");
  const NameCache::NameRow row{"notes", mac, 1, 11, sealed};
  ASSERT_TRUE(cache.FindName(row).has_value());
  EXPECT_EQ(*cache.FindName(row), "section-2/note");

  auto changed = row;
  changed.ns = "bookmarks";
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "other namespace";
  changed = row;
  changed.key_id = 2;
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "other key";
  changed = row;
  changed.revision = 12;
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "other revision";
  const Bytes other_sealed = B("sealed-bc");
  changed = row;
  changed.blob = other_sealed;
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "other bytes";
  const Bytes other_mac(32, 4);
  changed = row;
  changed.mac = other_mac;
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "a MAC the memo does not list";

  // MAC look-ups by namespace and name.
  const Bytes input = B("\x05notessection-1/note");
  ASSERT_NE(cache.FindMac(input), nullptr);
  EXPECT_EQ(Bytes(cache.FindMac(input)->begin(), cache.FindMac(input)->end()), Bytes(32, 1));
  EXPECT_EQ(cache.FindMac(B("\x05notessection-9/note")), nullptr);
  EXPECT_EQ(cache.FindMac(B("\x09bookmarkssection-1/note")), nullptr);
  EXPECT_EQ(cache.FindMac(B("\x40notes")), nullptr) << "a length past the input";

  cache.Clear();
  EXPECT_FALSE(cache.FindName(row).has_value());
  EXPECT_EQ(cache.FindMac(input), nullptr);
}

// A walk over rows in MAC order answers as FindName does for every row:
// matching rows, rows changed in any field, MACs the memo lacks, rows of
// another namespace, rows out of order, names opened one by one, and after
// the cache let go of the memo under it.
TEST(NameCache, MemoWalkAnswersAsFindName) {
  NameCache cache;
  std::vector<OwnedEntry> entries;
  for (int i = 0; i < 40; i += 2) {
    entries.push_back({Bytes(32, static_cast<std::uint8_t>(i)), 1, 100 + i, B("sealed-" + std::to_string(i)),
                       "name-" + std::to_string(i)});
  }
  ASSERT_TRUE(cache.AddMemo("notes", Encode(entries)).ok());
  const Bytes opened_mac(32, 41), opened_blob = B("sealed-41");
  cache.PutName({"notes", opened_mac, 1, 141, opened_blob}, "opened-41");
  struct Row {
    std::string ns;
    Bytes mac;
    std::uint32_t key_id;
    std::int64_t revision;
    Bytes blob;
  };
  std::vector<Row> rows;
  for (int i = 0; i < 42; ++i) {
    Row r{"notes", Bytes(32, static_cast<std::uint8_t>(i)), 1, 100 + i, B("sealed-" + std::to_string(i))};
    if (i == 6) r.revision = 7;        // Another revision.
    if (i == 8) r.key_id = 2;          // Another key.
    if (i == 10) r.blob[0] ^= 1;       // Other bytes.
    if (i == 12) r.ns = "highlights";  // Another namespace.
    if (i == 14) r.mac.resize(31);     // Not a MAC.
    rows.push_back(r);
  }
  rows.push_back(rows[4]);  // Out of order.
  rows.push_back(rows[2]);
  const auto view = [](const Row& r) {
    return NameCache::NameRow{r.ns, r.mac, r.key_id, r.revision, r.blob};
  };
  NameCache::MemoWalk walk(cache, "notes");
  int found = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    const auto expected = cache.FindName(view(rows[i]));
    const auto got = walk.FindName(view(rows[i]));
    ASSERT_EQ(got.has_value(), expected.has_value());
    if (got) {
      EXPECT_EQ(*got, *expected);
      ++found;
    }
  }
  EXPECT_EQ(found, 20 - 5 + 1 + 2) << "the memo's rows but five changed ones, the opened one, the two again";
  // Not answered by the memo in step: the 21 odd rows (the opened one
  // among them), rows 6, 8 and 10, row 40, and the two out of order.
  // (Row 12 is another namespace's, row 14 has no MAC.)
  EXPECT_EQ(walk.misses(), 21u + 3 + 1 + 2);

  // Memos of other namespaces come in after a walk started (the cache's
  // list of memos may move in memory): the walk still answers right.
  NameCache::MemoWalk moved(cache, "notes");
  ASSERT_TRUE(moved.FindName(view(rows[0])).has_value());
  for (int n = 0; n < 20; ++n) {
    ASSERT_TRUE(cache.AddMemo("ns-" + std::to_string(n), Encode(entries)).ok());
  }
  for (int i : {2, 4, 16, 18}) {
    EXPECT_EQ(moved.FindName(view(rows[static_cast<std::size_t>(i)])).value_or(""),
              "name-" + std::to_string(i));
  }

  // The cache lets go of the memo under a walk: no answer from it after.
  NameCache::MemoWalk later(cache, "notes");
  ASSERT_TRUE(later.FindName(view(rows[0])).has_value());
  cache.Clear();
  EXPECT_FALSE(later.FindName(view(rows[2])).has_value());
  ASSERT_TRUE(cache.AddMemo("notes", Encode(entries)).ok());
  EXPECT_EQ(later.FindName(view(rows[4])).value_or(""), "name-4") << "and follows the new one";
}

TEST(NameCache, RefusesMemosListingAMacTwiceOrTooLargeToHold) {
  NameCache cache;
  auto twice = SampleEntries();
  twice[1].mac = twice[0].mac;
  EXPECT_EQ(cache.AddMemo("notes", Encode(twice)).code(), ErrorCode::kIntegrity);
  EXPECT_EQ(cache.entries(), 0u);

  NameCache small(16 * 1024);
  std::vector<OwnedEntry> many;
  for (int i = 0; i < 200; ++i) {
    many.push_back({Bytes(32, static_cast<std::uint8_t>(i)), 1, i, Bytes(40, 's'), "n" + std::to_string(i)});
  }
  EXPECT_EQ(small.AddMemo("notes", Encode(many)).code(), ErrorCode::kTooLarge);
  EXPECT_EQ(small.entries(), 0u);
}

// ---- the vault's memos

constexpr int kRecords = 40;  // Above the vault's smallest memo.

std::string Key(int i) {
  return "section-" + std::to_string(i) + "/note";
}

using Listing = std::vector<std::pair<std::string, std::int64_t>>;

std::vector<std::pair<std::string, std::int64_t>> ListAll(Vault& v, std::string_view ns) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  std::optional<std::string> cursor;
  do {
    std::optional<std::string_view> c;
    if (cursor) c = *cursor;
    auto page = v.List(ns, "", c, 7);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) return out;
    for (const auto& item : page->items) out.emplace_back(item.key, item.revision);
    cursor = page->cursor;
  } while (cursor);
  std::sort(out.begin(), out.end());
  return out;
}

void Fill(Vault& v, std::string_view ns) {
  for (int i = 0; i < kRecords; ++i) ASSERT_TRUE(v.Set(ns, Key(i), i).ok());
}

// A vault in `dir` whose "notes" hold kRecords records and their memo, by a
// process that has ended.
void WriteNotesWithMemo(const std::filesystem::path& dir) {
  auto v = OpenVault(TestOptions(dir));
  Fill(*v, "notes");
  ListAll(*v, "notes");
}

std::int64_t CurrentMemos(RawDb& raw) {
  return raw.Int("SELECT COUNT(*) FROM name_memos WHERE current = 1");
}

// The entries of the namespace's memo log, and its starts (0 or 1).
std::int64_t Logged(RawDb& raw, std::string_view ns) {
  return raw.Int("SELECT COUNT(*) FROM name_memo_changes WHERE ns = '" + std::string(ns) + "'");
}
std::int64_t LogStarts(RawDb& raw, std::string_view ns) {
  return raw.Int("SELECT COUNT(*) FROM name_memo_logs WHERE ns = '" + std::string(ns) + "'");
}

// `other` writes `key` in "notes" and `v` lists it: `v` sees another host
// write to the vault, so it rewrites the memo to start a log (a host alone
// keeps none). Returns the revision written.
std::int64_t StartSharing(Vault& v, Vault& other, const std::string& key) {
  auto revision = other.Set("notes", key, "shared");
  EXPECT_TRUE(revision.ok());
  ListAll(v, "notes");
  RawDb raw(v.path());
  EXPECT_EQ(LogStarts(raw, "notes"), 1) << "a log started";
  EXPECT_EQ(raw.Int("SELECT current FROM name_memos WHERE ns = 'notes'"), 1);
  return revision.ok() ? *revision : 0;
}

// Every page of "notes" for several calls (prefixes and limits), each as
// its items with their revisions and its cursor; `before_each` runs before
// each page is asked for.
std::vector<std::string> PagesOfNotes(Vault& v, const std::function<void()>& before_each = {}) {
  struct Call {
    std::string prefix;
    std::size_t limit;
  };
  std::vector<std::string> out;
  for (const Call& call :
       {Call{"", 1}, Call{"", 7}, Call{"", 100}, Call{"part-1/", 3}, Call{"section-1", 5}}) {
    std::optional<std::string> cursor;
    for (int n = 0; n < 100; ++n) {
      std::optional<std::string_view> c;
      if (cursor) c = *cursor;
      if (before_each) before_each();
      auto page = v.List("notes", call.prefix, c, call.limit);
      EXPECT_TRUE(page.ok());
      if (!page.ok()) break;
      std::string line;
      for (const auto& item : page->items) line += item.key + "@" + std::to_string(item.revision) + " ";
      out.push_back(line + "| " + page->cursor.value_or("end"));
      cursor = page->cursor;
      if (!cursor) break;
    }
  }
  return out;
}

// A listing leaves a sealed memo; a new process lists from it with no
// per-name work at all, page by page, and finds the same names.
TEST(VaultMemo, NewProcessListsFromTheMemoAlone) {
  TempDir dir;
  std::vector<std::pair<std::string, std::int64_t>> first;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    Fill(*v, "notes");
    first = ListAll(*v, "notes");
    ASSERT_EQ(first.size(), static_cast<std::size_t>(kRecords));
  }
  RawDb raw(dir.path() / "vault.db");
  EXPECT_EQ(CurrentMemos(raw), 1);
  const std::string stored = testing::ReadFile(dir.path() / "vault.db") + testing::ReadFile(dir.path() / "vault.db-wal");
  EXPECT_EQ(stored.find("section-"), std::string::npos) << "names are sealed in the memo too";

  auto fresh = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(ListAll(*fresh, "notes"), first);
  EXPECT_EQ(fresh->KeyedWorkForTesting().names_opened, 0u);
  // Gets find their MACs in it too (after the first few).
  for (int i = 0; i < kRecords; ++i) ASSERT_EQ(fresh->Get("notes", Key(i))->value, i);
  EXPECT_LE(fresh->KeyedWorkForTesting().macs_computed, 4u);
}

// Every kind of change, including one made by a program that knows
// nothing of memos, makes a memo stale; the next listing is right and
// leaves a current memo again.
TEST(VaultMemo, AnyChangeToTheNamespaceMakesItsMemoStale) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  Fill(*v, "notes");
  Fill(*v, "highlights");
  ListAll(*v, "notes");
  ListAll(*v, "highlights");
  RawDb raw(dir.path() / "vault.db");
  ASSERT_EQ(CurrentMemos(raw), 2);

  // Another process adds a record: this one's next listing shows it.
  {
    auto other = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(other->Set("notes", "added", true).ok());
  }
  EXPECT_EQ(raw.Int("SELECT current FROM name_memos WHERE ns = 'highlights'"), 1) << "other namespaces stay";
  EXPECT_EQ(raw.Int("SELECT current FROM name_memos WHERE ns = 'notes'"), 0);
  auto listed = ListAll(*v, "notes");
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(kRecords + 1));
  // One name to open is not worth a rewrite, but another host writing is:
  // the memo is rewritten once, to start a log (see VaultMemoLog).
  EXPECT_EQ(raw.Int("SELECT current FROM name_memos WHERE ns = 'notes'"), 1);
  EXPECT_EQ(LogStarts(raw, "notes"), 1);
  // Eight names to open are worth a rewrite.
  {
    auto other = OpenVault(TestOptions(dir.path()));
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(other->Set("notes", "more-" + std::to_string(i), i).ok());
  }
  listed = ListAll(*OpenVault(TestOptions(dir.path())), "notes");
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(kRecords + 9));
  EXPECT_EQ(raw.Int("SELECT current FROM name_memos WHERE ns = 'notes'"), 1);

  // An update of a row by a program that knows nothing of memos.
  raw.Exec("UPDATE records SET size = size WHERE id = (SELECT MIN(id) FROM records WHERE ns = 'notes')");
  EXPECT_EQ(raw.Int("SELECT current FROM name_memos WHERE ns = 'notes'"), 0);
  EXPECT_EQ(raw.Int("SELECT current FROM name_memos WHERE ns = 'highlights'"), 1);
  ListAll(*v, "notes");
  // One that moves a row to another namespace: that one's memo goes stale,
  // and the row's old namespace loses its memo, as by a deletion.
  ASSERT_EQ(CurrentMemos(raw), 2);
  const std::string moved = std::to_string(raw.Int("SELECT MIN(id) FROM records WHERE ns = 'highlights'"));
  raw.Exec("UPDATE records SET ns = 'notes' WHERE id = " + moved);
  EXPECT_EQ(raw.Int("SELECT current FROM name_memos WHERE ns = 'notes'"), 0);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos WHERE ns = 'highlights'"), 0);
  raw.Exec("UPDATE records SET ns = 'highlights' WHERE id = " + moved);  // Back, where its name opens.
  ListAll(*v, "notes");
  ListAll(*v, "highlights");

  // Overwrite, delete and clear, from a fresh process each.
  {
    auto other = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(other->Set("notes", Key(3), "changed").ok());
  }
  auto after_set = ListAll(*OpenVault(TestOptions(dir.path())), "notes");
  auto it = std::find_if(after_set.begin(), after_set.end(), [](const auto& p) { return p.first == Key(3); });
  ASSERT_NE(it, after_set.end());
  EXPECT_EQ(it->second, v->Get("notes", Key(3))->revision) << "the listing shows the new revision";

  ASSERT_TRUE(v->Delete("notes", Key(5)).ok());
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos WHERE ns = 'notes'"), 0) << "a deleted name leaves no memo";
  auto after_delete = ListAll(*OpenVault(TestOptions(dir.path())), "notes");
  EXPECT_EQ(after_delete.size(), static_cast<std::size_t>(kRecords + 8));
  EXPECT_EQ(std::count_if(after_delete.begin(), after_delete.end(), [](const auto& p) { return p.first == Key(5); }),
            0);

  ASSERT_TRUE(v->Clear("highlights").ok());
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos WHERE ns = 'highlights'"), 0);
  EXPECT_TRUE(ListAll(*OpenVault(TestOptions(dir.path())), "highlights").empty());
}

// A damaged memo, or one moved to another namespace or from another vault,
// fails to open: the listing opens each name instead, is right, and writes
// a good memo in its place.
TEST(VaultMemo, DamagedOrMovedMemosAreSkippedAndReplaced) {
  TempDir dir, elsewhere;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    Fill(*v, "notes");
    Fill(*v, "highlights");
    ListAll(*v, "notes");
    ListAll(*v, "highlights");
    auto w = OpenVault(TestOptions(elsewhere.path()));
    Fill(*w, "notes");
    ListAll(*w, "notes");
  }
  RawDb raw(dir.path() / "vault.db");
  const auto expected_notes = ListAll(*OpenVault(TestOptions(dir.path())), "notes");
  const auto notes_memo = raw.Blob("SELECT memo FROM name_memos WHERE ns = 'notes'");
  const auto highlights_memo = raw.Blob("SELECT memo FROM name_memos WHERE ns = 'highlights'");
  const auto foreign_memo =
      RawDb(elsewhere.path() / "vault.db").Blob("SELECT memo FROM name_memos WHERE ns = 'notes'");

  std::vector<Bytes> bad;
  Bytes flipped = notes_memo;
  flipped[flipped.size() / 2] ^= 0x01;
  bad.push_back(flipped);
  bad.push_back(highlights_memo);  // Another namespace's.
  bad.push_back(foreign_memo);     // Another vault's, same namespace.
  bad.push_back(Bytes(notes_memo.begin(), notes_memo.begin() + 20));
  for (const Bytes& memo : bad) {
    raw.SetBlob("UPDATE name_memos SET memo = ?, current = 1 WHERE ns = 'notes'", memo);
    auto v = OpenVault(TestOptions(dir.path()));
    EXPECT_EQ(ListAll(*v, "notes"), expected_notes);
    EXPECT_EQ(v->KeyedWorkForTesting().names_opened, static_cast<std::uint64_t>(kRecords));
    auto again = OpenVault(TestOptions(dir.path()));
    EXPECT_EQ(ListAll(*again, "notes"), expected_notes);
    EXPECT_EQ(again->KeyedWorkForTesting().names_opened, 0u) << "replaced by a good memo";
  }
}

// A memo's entries count only for the exact sealed bytes they name: with
// the memo stale, a flipped byte in a row's sealed name is caught as
// before.
TEST(VaultMemo, StaleMemoHidesNoTamperedRow) {
  TempDir dir;
  WriteNotesWithMemo(dir.path());
  RawDb raw(dir.path() / "vault.db");
  auto name = raw.Blob("SELECT name_blob FROM records WHERE id = (SELECT MIN(id) FROM records)");
  name[name.size() - 1] ^= 0x01;
  raw.SetBlob("UPDATE records SET name_blob = ? WHERE id = (SELECT MIN(id) FROM records)", name);
  ASSERT_EQ(CurrentMemos(raw), 0);
  auto v = OpenVault(TestOptions(dir.path()));
  std::optional<std::string> cursor;
  Status last;
  for (int pages = 0; pages < 20; ++pages) {
    std::optional<std::string_view> c;
    if (cursor) c = *cursor;
    auto page = v->List("notes", "", c, 7);
    if (!page.ok()) {
      last = page.status();
      break;
    }
    cursor = page->cursor;
    if (!cursor) break;
  }
  EXPECT_EQ(last.code(), ErrorCode::kIntegrity);
}

// Rotation re-seals every name, so it drops every memo; the next listing
// writes one under the new key.
TEST(VaultMemo, RotationDropsMemosAndTheNextListingWritesOneUnderTheNewKey) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  Fill(*v, "notes");
  const auto before = ListAll(*v, "notes");
  RawDb raw(dir.path() / "vault.db");
  ASSERT_EQ(CurrentMemos(raw), 1);
  auto rotated = v->RotateKey();
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos"), 0);
  EXPECT_EQ(ListAll(*v, "notes"), before);
  EXPECT_EQ(raw.Int("SELECT key_id FROM name_memos WHERE ns = 'notes' AND current = 1"),
            static_cast<std::int64_t>(rotated->key_id));
  auto fresh = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(ListAll(*fresh, "notes"), before);
  EXPECT_EQ(fresh->KeyedWorkForTesting().names_opened, 0u);
}

// Saving a memo is best effort: a listing whose memo cannot be written
// (here a trigger refuses it, as a full disk would) still succeeds.
TEST(VaultMemo, ListingSucceedsWhenItsMemoCannotBeSaved) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  Fill(*v, "notes");
  RawDb raw(dir.path() / "vault.db");
  raw.Exec("CREATE TRIGGER refuse_memos BEFORE INSERT ON name_memos BEGIN SELECT RAISE(ABORT, 'disk full'); END");
  EXPECT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos"), 0);
  EXPECT_EQ(raw.IntegrityCheck(), "ok");
}

// Pages served from a current memo are the pages read from the rows, item
// for item and cursor for cursor, with and without a prefix.
TEST(VaultMemo, MemoPagesAreTheRowPagesExactly) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    Fill(*v, "notes");
    for (int i = 0; i < 12; ++i) ASSERT_TRUE(v->Set("notes", "part-1/p" + std::to_string(i), i).ok());
    ListAll(*v, "notes");
  }
  RawDb raw(dir.path() / "vault.db");
  ASSERT_EQ(CurrentMemos(raw), 1);
  auto pages = [&](bool from_memo) {
    auto v = OpenVault(TestOptions(dir.path()));
    auto out = PagesOfNotes(*v, [&] {
      if (!from_memo) raw.Exec("DELETE FROM name_memos");  // Rows every time.
    });
    EXPECT_EQ(v->KeyedWorkForTesting().names_opened == 0, from_memo);
    return out;
  };
  const auto memo_pages = pages(true);
  const auto row_pages = pages(false);
  EXPECT_EQ(memo_pages, row_pages);
  EXPECT_GT(memo_pages.size(), 60u);
}

// A long-lived process holding one memo lists the rows as they are after
// another process deleted a record and wrote a newer memo.
TEST(VaultMemo, LongLivedProcessFollowsAnotherProcesssMemo) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  Fill(*v, "notes");
  ASSERT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  {
    auto other = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(other->Delete("notes", Key(7)).ok());
    ASSERT_EQ(ListAll(*other, "notes").size(), static_cast<std::size_t>(kRecords - 1));
  }
  RawDb raw(dir.path() / "vault.db");
  ASSERT_EQ(CurrentMemos(raw), 1) << "the other process wrote a new memo";
  const auto listed = ListAll(*v, "notes");
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(kRecords - 1));
  EXPECT_EQ(std::count_if(listed.begin(), listed.end(), [](const auto& p) { return p.first == Key(7); }), 0);
}

// Sets that find their MACs in a memo update the rows they name: no second
// row for a name, and the new values read back.
TEST(VaultMemo, SetsThroughMemoMacsUpdateTheirRows) {
  TempDir dir;
  WriteNotesWithMemo(dir.path());
  auto v = OpenVault(TestOptions(dir.path()));
  for (int i = 0; i < kRecords; ++i) ASSERT_TRUE(v->Set("notes", Key(i), i + 1000).ok());
  EXPECT_LE(v->KeyedWorkForTesting().macs_computed, 4u) << "the memo answered the rest";
  RawDb raw(dir.path() / "vault.db");
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM records WHERE ns = 'notes'"), kRecords);
  for (int i = 0; i < kRecords; ++i) EXPECT_EQ(v->Get("notes", Key(i))->value, i + 1000);
}

// Triggers that are not the vault's own, to the letter, are replaced when
// the vault opens, and the memos they may have kept current are dropped:
// a same-named trigger that does nothing, and one that keeps memos current.
TEST(VaultMemo, TamperedTriggersAreReplacedOnOpen) {
  TempDir dir;
  WriteNotesWithMemo(dir.path());
  RawDb raw(dir.path() / "vault.db");
  raw.Exec("DROP TRIGGER records_insert_memo");
  raw.Exec("CREATE TRIGGER records_insert_memo AFTER INSERT ON records BEGIN SELECT 1; END");
  raw.Exec("CREATE TRIGGER keep_current AFTER UPDATE ON name_memos BEGIN "
           "UPDATE name_memos SET current = 1 WHERE ns = NEW.ns AND current = 0; END");
  auto v = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"), 3);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM sqlite_master WHERE name = 'keep_current'"), 0);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos"), 0);
  ListAll(*v, "notes");
  ASSERT_EQ(CurrentMemos(raw), 1);
  ASSERT_TRUE(v->Set("notes", "new", 1).ok());
  EXPECT_EQ(CurrentMemos(raw), 0) << "the restored trigger marks it stale";
  EXPECT_EQ(ListAll(*OpenVault(TestOptions(dir.path())), "notes").size(), static_cast<std::size_t>(kRecords + 1));
}

// A memo is never worth waiting for: with another connection holding the
// write lock, the listing returns at once without one, and a later listing
// writes it. The connection stays at synchronous=FULL throughout.
TEST(VaultMemo, MemoWriteGivesWayToAnotherWriter) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.busy_timeout_ms = 5000;
  auto v = OpenVault(options);
  Fill(*v, "notes");
  RawDb raw(dir.path() / "vault.db");
  raw.Exec("BEGIN IMMEDIATE");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4)) << "did not wait out the lock";
  raw.Exec("COMMIT");
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos"), 0);
  EXPECT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(CurrentMemos(raw), 1);
  EXPECT_EQ(*v->PragmaForTesting("synchronous"), 2) << "FULL";
  EXPECT_EQ(*v->PragmaForTesting("busy_timeout"), 5000);
}

// A process that has every name in memory does not rewrite a stale memo on
// each listing (set, list, set, list...): the process that has to open
// names does.
TEST(VaultMemo, AWarmProcessLeavesAStaleMemoAlone) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  Fill(*v, "notes");
  ListAll(*v, "notes");
  RawDb raw(dir.path() / "vault.db");
  const auto first = raw.Blob("SELECT memo FROM name_memos WHERE ns = 'notes'");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(v->Set("notes", Key(i), -i).ok());
    EXPECT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  }
  EXPECT_EQ(raw.Blob("SELECT memo FROM name_memos WHERE ns = 'notes'"), first);
  EXPECT_EQ(CurrentMemos(raw), 0);
}

// A listing reads the stored memo's nonce (the whole memo blob, to SQLite)
// once while nothing in the file changes, and again after any change by
// any connection while the memo is current. A stale memo's nonce is not
// read while this process holds a memo: its own writes show in the next
// listing, with their revisions, all the same.
TEST(VaultMemo, MemoNonceIsReadAgainOnlyAfterAChange) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  Fill(*v, "notes");
  ListAll(*v, "notes");  // Writes the memo.
  RawDb raw(dir.path() / "vault.db");
  ASSERT_EQ(CurrentMemos(raw), 1);
  auto reads = [&v] { return v->KeyedWorkForTesting().memo_nonces_read; };
  std::uint64_t before = reads();
  ListAll(*v, "notes");
  EXPECT_EQ(reads(), before + 1) << "the memo written since: its nonce is read once";
  before = reads();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(reads(), before) << "six pages a listing, no change: the nonce read before still holds";

  // Another connection commits a change (SQLite skips writes that change
  // nothing, so a real one): the memo is still current, its nonce read again.
  raw.Exec("UPDATE meta SET v = v + 1 WHERE k = 'revision_clock'");
  ASSERT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(reads(), before + 1);

  for (int i = 0; i < 3; ++i) {
    const std::string key = "own-" + std::to_string(i);
    auto revision = v->Set("notes", key, i);
    ASSERT_TRUE(revision.ok());
    before = reads();
    const auto listed = ListAll(*v, "notes");
    EXPECT_EQ(reads(), before) << "stale, and this process holds a memo";
    EXPECT_EQ(listed.size(), static_cast<std::size_t>(kRecords + i + 1));
    EXPECT_NE(std::find(listed.begin(), listed.end(), std::make_pair(key, *revision)), listed.end());
  }

  // Another process deletes a record and lists, which writes a new current
  // memo: this process reads its nonce, loads it, and lists without the
  // deleted record.
  {
    auto other = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(other->Delete("notes", Key(1)).ok());
    ASSERT_EQ(ListAll(*other, "notes").size(), static_cast<std::size_t>(kRecords + 2));
  }
  ASSERT_EQ(CurrentMemos(raw), 1);
  before = reads();
  auto listed = ListAll(*v, "notes");
  EXPECT_EQ(reads(), before + 1);
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(kRecords + 2));
  EXPECT_EQ(std::count_if(listed.begin(), listed.end(), [](const auto& p) { return p.first == Key(1); }), 0);

  // Made current by a transaction that was rolled back: still not current.
  ASSERT_TRUE(v->Set("notes", "after", 1).ok());
  raw.Exec("BEGIN IMMEDIATE");
  raw.Exec("UPDATE name_memos SET current = 1");
  raw.Exec("ROLLBACK");
  listed = ListAll(*v, "notes");
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(kRecords + 3));
  EXPECT_EQ(raw.Int("SELECT current FROM name_memos"), 0);
}

// Small namespaces list fast enough without: no memo is written for them.
TEST(VaultMemo, SmallNamespacesGetNoMemo) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(v->Set("settings", Key(i), i).ok());
  EXPECT_EQ(ListAll(*v, "settings").size(), 5u);
  RawDb raw(dir.path() / "vault.db");
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos"), 0);
}

// A listing rewrites a memo that writes left stale once it finds an eighth
// of the rows (and at least eight) not as the memo it holds lists them:
// each is a name a new process would open one by one, whoever wrote it. A
// rewrite reads and seals every name, so it waits until it saves that
// much: one row written over and over is one name, however often.
TEST(VaultMemo, StaleMemoIsRewrittenOnceAnEighthOfItsRowsChanged) {
  TempDir dir;
  constexpr int kMany = 200;  // An eighth: 25.
  auto v = OpenVault(TestOptions(dir.path()));
  for (int i = 0; i < kMany; ++i) ASSERT_TRUE(v->Set("notes", Key(i), i).ok());
  ASSERT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kMany));
  RawDb raw(dir.path() / "vault.db");
  ASSERT_EQ(CurrentMemos(raw), 1);
  auto other = OpenVault(TestOptions(dir.path()));
  auto change = [&](Vault& writer, int from, int to) {
    for (int i = from; i < to; ++i) ASSERT_TRUE(writer.Set("notes", Key(i), -i).ok());
    EXPECT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kMany));
  };
  StartSharing(*v, *other, Key(0));
  const auto from_log = [&v] { return v->KeyedWorkForTesting().memos_over_logs; };
  const auto logged = [&raw] { return raw.Int("SELECT COUNT(*) FROM name_memo_changes WHERE ns = 'notes'"); };
  std::uint64_t logs = from_log();
  change(*other, 0, 20);
  EXPECT_EQ(CurrentMemos(raw), 0) << "20 rows changed: not yet";
  EXPECT_EQ(from_log(), logs + 1) << "listed over the memo's log";
  change(*other, 20, 24);
  EXPECT_EQ(CurrentMemos(raw), 0) << "24 rows changed: not yet";
  EXPECT_EQ(logged(), 24);
  logs = from_log();
  change(*other, 24, 25);
  EXPECT_EQ(CurrentMemos(raw), 1) << "25 rows changed: rewritten";
  EXPECT_EQ(from_log(), logs) << "from the rows";
  EXPECT_EQ(logged(), 0) << "the log starts afresh";
  // Rewritten in place: after a commit, its state is read where it was.
  raw.Exec("UPDATE meta SET v = v + 1 WHERE k = 'revision_clock'");
  const std::uint64_t at_rowid = v->KeyedWorkForTesting().memo_states_at_known_rowid;
  ASSERT_TRUE(v->List("notes", "", std::nullopt, 1000).ok());
  EXPECT_EQ(v->KeyedWorkForTesting().memo_states_at_known_rowid, at_rowid + 1);
  auto fresh = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(ListAll(*fresh, "notes").size(), static_cast<std::size_t>(kMany));
  EXPECT_EQ(fresh->KeyedWorkForTesting().names_opened, 0u) << "the rewritten memo lists every name";

  for (int n = 0; n < 30; ++n) change(*other, 0, 1);
  EXPECT_EQ(CurrentMemos(raw), 0) << "one row changed 30 times: not rewritten";
  EXPECT_EQ(logged(), 1) << "logged once";
  change(*v, 100, 123);
  EXPECT_EQ(CurrentMemos(raw), 0) << "and 23 of this process's own: 24 rows, not yet";
  change(*other, 123, 124);
  EXPECT_EQ(CurrentMemos(raw), 1) << "25 rows, this process's own writes among them: rewritten";
}

// Listings that read the rows read them in batches of 256, each starting
// after the last row of the one before: pages of every size around that
// boundary list each record once, as it is.
TEST(VaultMemo, RowsListingsCrossTheirBatchBoundaries) {
  TempDir dir;
  constexpr int kMany = 600;  // Two batches and some.
  auto v = OpenVault(TestOptions(dir.path()));
  auto other = OpenVault(TestOptions(dir.path()));
  std::map<std::string, std::int64_t> model;
  for (int i = 0; i < kMany; ++i) {
    auto revision = v->Set("notes", Key(i), i);
    ASSERT_TRUE(revision.ok());
    model[Key(i)] = *revision;
  }
  RawDb raw(dir.path() / "vault.db");
  for (const std::size_t limit : {1000, 257, 256, 255, 100}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    auto revision = other->Set("notes", Key(static_cast<int>(limit)), "theirs");
    ASSERT_TRUE(revision.ok());
    model[Key(static_cast<int>(limit))] = *revision;
    raw.Exec("DELETE FROM name_memo_logs");  // No log: the rows are read.
    const std::uint64_t rows = v->KeyedWorkForTesting().list_rows_read;
    Listing listed;
    std::optional<std::string> cursor;
    for (int n = 0; n < kMany; ++n) {
      std::optional<std::string_view> c;
      if (cursor) c = *cursor;
      auto page = v->List("notes", "", c, limit);
      ASSERT_TRUE(page.ok());
      for (const auto& item : page->items) listed.emplace_back(item.key, item.revision);
      cursor = page->cursor;
      if (!cursor) break;
    }
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, Listing(model.begin(), model.end()));
    EXPECT_GE(v->KeyedWorkForTesting().list_rows_read - rows, static_cast<std::uint64_t>(kMany))
        << "from the rows";
  }
}

// A memo found unusable (here: stale by another process's write, with no
// log) is looked at again only once something has committed: not on every
// page. A fresh memo another process writes is still found and listed from.
TEST(VaultMemo, UnusableMemoIsLookedAtAgainOnlyAfterACommit) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  Fill(*v, "notes");
  ListAll(*v, "notes");  // Writes the memo.
  auto other = OpenVault(TestOptions(dir.path()));
  StartSharing(*v, *other, Key(1));  // The one rewrite to start a log.
  ASSERT_TRUE(other->Set("notes", Key(1), "theirs").ok());
  RawDb raw(dir.path() / "vault.db");
  raw.Exec("DELETE FROM name_memo_logs");
  const auto looks = [&v] { return v->KeyedWorkForTesting().memo_looks; };
  const auto rows = [&v] { return v->KeyedWorkForTesting().list_rows_read; };
  std::uint64_t before = looks();
  ASSERT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(looks(), before + 1) << "six pages, one look";
  before = looks();
  ASSERT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(looks(), before) << "nothing committed since";

  raw.Exec("UPDATE meta SET v = v + 1 WHERE k = 'revision_clock'");
  ASSERT_EQ(ListAll(*v, "notes").size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(looks(), before + 1) << "one look after a commit";

  ASSERT_TRUE(other->Delete("notes", Key(2)).ok());
  ASSERT_EQ(ListAll(*other, "notes").size(), static_cast<std::size_t>(kRecords - 1));
  ASSERT_EQ(CurrentMemos(raw), 1);
  const std::uint64_t rows_before = rows();
  const auto listed = ListAll(*v, "notes");
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(kRecords - 1));
  EXPECT_EQ(std::count_if(listed.begin(), listed.end(), [](const auto& p) { return p.first == Key(2); }), 0);
  EXPECT_EQ(rows(), rows_before) << "looked at after the first read, and listed from";
}

// A listing after a commit reads its memo's state where the memo's row was
// found last time. Another namespace's row at that place is not taken for
// it: after two memo rows swap places, a current memo is still listed from
// and a stale one is not.
TEST(VaultMemo, MemoStateIsReadWhereverItsRowMoved) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  Fill(*v, "notes");
  Fill(*v, "highlights");
  for (const char* ns : {"notes", "highlights"}) {
    ListAll(*v, ns);  // Writes the memo.
    ListAll(*v, ns);  // Finds its row by the namespace.
  }
  auto other = OpenVault(TestOptions(dir.path()));
  StartSharing(*v, *other, Key(1));
  ASSERT_TRUE(other->Set("notes", Key(1), "theirs").ok());  // The notes' memo is stale, with a log.
  const auto work = [&v] { return v->KeyedWorkForTesting(); };
  // One page each (kRecords names): one look at the memo's state.
  const auto list = [&v](std::string_view ns) {
    auto page = v->List(ns, "", std::nullopt, 100);
    EXPECT_TRUE(page.ok() && !page->cursor && page->items.size() == static_cast<std::size_t>(kRecords));
    std::string out;
    if (page.ok()) {
      for (const auto& item : page->items) out += item.key + "@" + std::to_string(item.revision) + " ";
    }
    return out;
  };
  const std::string highlights = list("highlights"), notes = list("notes");

  RawDb raw(dir.path() / "vault.db");
  raw.SwapRowids("name_memos", "ns = 'notes'", "ns = 'highlights'");
  Vault::KeyedWork before = work();
  EXPECT_EQ(list("highlights"), highlights);
  EXPECT_EQ(work().list_rows_read, before.list_rows_read) << "listed from its memo, still current";
  EXPECT_EQ(work().memo_states_at_known_rowid, before.memo_states_at_known_rowid) << "found by its namespace";
  EXPECT_EQ(list("notes"), notes);
  EXPECT_EQ(work().memos_over_logs, before.memos_over_logs + 1)
      << "a stale memo is listed from only over its log";

  before = work();
  EXPECT_EQ(list("highlights"), highlights);
  EXPECT_EQ(work().list_rows_read, before.list_rows_read);
  EXPECT_EQ(work().memo_states_at_known_rowid, before.memo_states_at_known_rowid + 1)
      << "found where it moved to";
}

// ---- a process's own writes, listed over its memo

Listing Expected(const std::map<std::string, std::int64_t>& model) {
  return Listing(model.begin(), model.end());
}

// A vault whose "notes" hold kRecords records and a current memo that this
// process has listed from, so it keeps its own writes over the memo.
std::map<std::string, std::int64_t> FillAndListTwice(Vault& v) {
  std::map<std::string, std::int64_t> model;
  for (int i = 0; i < kRecords; ++i) {
    auto revision = v.Set("notes", Key(i), i);
    EXPECT_TRUE(revision.ok());
    if (revision.ok()) model[Key(i)] = *revision;
  }
  EXPECT_EQ(ListAll(v, "notes"), Expected(model));  // Reads the rows, writes the memo.
  EXPECT_EQ(ListAll(v, "notes"), Expected(model));  // From the memo.
  return model;
}

// After its own sets and deletes, a process lists from its memo with those
// writes over it: no row is read, and every listing is the namespace as it
// is (new names, new revisions, deleted names gone, a name deleted and
// written again back). Writes to another namespace leave it so.
TEST(VaultMemo, OwnWritesAreListedOverTheMemoWithoutReadingRows) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto model = FillAndListTwice(*v);
  const auto work = [&v] { return v->KeyedWorkForTesting(); };
  const std::uint64_t rows = work().list_rows_read;
  auto set = [&](std::string_view ns, const std::string& key, const nlohmann::json& value) {
    auto revision = v->Set(ns, key, value);
    ASSERT_TRUE(revision.ok()) << revision.status().ToString();
    if (ns == "notes") model[key] = *revision;
  };
  auto remove = [&](const std::string& key) {
    ASSERT_TRUE(v->Delete("notes", key).ok());
    model.erase(key);
  };
  RawDb raw(dir.path() / "vault.db");
  set("notes", "added", 1);
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_EQ(CurrentMemos(raw), 0) << "the memo in the file is stale";
  set("notes", Key(3), "changed");
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  remove(Key(5));
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos"), 0) << "a deletion drops the memo in the file";
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  remove(Key(6));
  set("notes", Key(6), "again");
  remove("added");
  set("highlights", "elsewhere", 1);
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_EQ(work().list_rows_read, rows) << "no listing read the rows";
  EXPECT_GE(work().pages_over_own_writes, 4u * 6u);
  EXPECT_EQ(work().names_opened, 0u);

  // A new process, which reads the rows, lists the same.
  auto fresh = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(ListAll(*fresh, "notes"), Expected(model));
  EXPECT_GT(fresh->KeyedWorkForTesting().list_rows_read, 0u);
}

// A memo a listing has just written lists the rows exactly: the process's
// next own writes are kept over it at once, so a write before every
// listing does not send each listing to the rows.
TEST(VaultMemo, OwnWritesAreKeptOverAMemoJustWritten) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));  // Alone: no other connection commits.
  auto model = FillAndListTwice(*v);
  const auto work = [&v] { return v->KeyedWorkForTesting(); };
  auto set = [&](const std::string& key) {
    auto revision = v->Set("notes", key, key);
    ASSERT_TRUE(revision.ok());
    model[key] = *revision;
  };
  for (int i = 0; i <= 256; ++i) set("many-" + std::to_string(i));  // Too many to keep.
  Vault::KeyedWork before = work();
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_GT(work().list_rows_read, before.list_rows_read) << "from the rows, and the memo rewritten";
  RawDb raw(dir.path() / "vault.db");
  ASSERT_EQ(CurrentMemos(raw), 1);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    set("own-" + std::to_string(i));
    before = work();
    EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
    EXPECT_EQ(work().list_rows_read, before.list_rows_read) << "over the memo just written";
    EXPECT_GT(work().pages_over_own_writes, before.pages_over_own_writes);
  }
}

// Pages listed over own writes are the pages read from the rows, item for
// item and cursor for cursor, with and without a prefix, including pages
// that end on a written or deleted record.
TEST(VaultMemo, OwnWritePagesAreTheRowPagesExactly) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  FillAndListTwice(*v);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(v->Set("notes", "part-1/p" + std::to_string(i), i).ok());
  for (int i = 0; i < kRecords; i += 3) ASSERT_TRUE(v->Delete("notes", Key(i)).ok());
  for (int i = 1; i < kRecords; i += 4) ASSERT_TRUE(v->Set("notes", Key(i), "new").ok());
  const std::uint64_t rows = v->KeyedWorkForTesting().list_rows_read;
  const auto own_pages = PagesOfNotes(*v);
  EXPECT_EQ(v->KeyedWorkForTesting().list_rows_read, rows);
  RawDb raw(dir.path() / "vault.db");
  raw.Exec("DELETE FROM name_memos");
  auto fresh = OpenVault(TestOptions(dir.path()));
  const auto row_pages = PagesOfNotes(*fresh);
  EXPECT_GT(fresh->KeyedWorkForTesting().list_rows_read, 0u);
  EXPECT_EQ(own_pages, row_pages);
  EXPECT_GT(own_pages.size(), 40u);
}

// Whatever this process did not write itself, one record at a time, sends
// its next listing to the memo's log or back to the rows: another
// connection's commit, its own clear of another namespace, a key rotation,
// a write refused for a stale revision. Each listing is right.
TEST(VaultMemo, AnyOtherChangeSendsListingsToTheLogOrTheRows) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto model = FillAndListTwice(*v);
  ASSERT_TRUE(v->Set("highlights", "h", 1).ok());
  RawDb raw(dir.path() / "vault.db");
  const auto rows = [&v] { return v->KeyedWorkForTesting().list_rows_read; };
  const auto logs = [&v] { return v->KeyedWorkForTesting().memos_over_logs; };
  // Lists once after an own write (over the memo), then after `change`:
  // right away, after another own write to the namespace, or after one to
  // another namespace. Each time from the rows or over the log, and right.
  enum class Then { kList, kWriteHere, kWriteElsewhere };
  auto check = [&](const char* what, const std::function<void()>& change) {
    for (Then then : {Then::kList, Then::kWriteHere, Then::kWriteElsewhere}) {
      SCOPED_TRACE(std::string(what) + (then == Then::kWriteHere        ? ", then an own write"
                                        : then == Then::kWriteElsewhere ? ", then an own write elsewhere"
                                                                        : ""));
      // A listing that finds no memo writes one; the next starts from it.
      raw.Exec("DELETE FROM name_memos");
      ListAll(*v, "notes");
      ASSERT_EQ(CurrentMemos(raw), 1);
      ListAll(*v, "notes");
      auto own = [&](const std::string& key) {
        auto revision = v->Set("notes", key, what);
        ASSERT_TRUE(revision.ok());
        model[key] = *revision;
      };
      own("own");
      std::uint64_t before = rows();
      ASSERT_EQ(ListAll(*v, "notes"), Expected(model));
      ASSERT_EQ(rows(), before) << "over the memo";
      change();
      if (then == Then::kWriteHere) own("own-after");
      if (then == Then::kWriteElsewhere) {
        ASSERT_TRUE(v->Set("highlights", "own-after", what).ok());
      }
      before = rows();
      const std::uint64_t logs_before = logs();
      EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
      EXPECT_TRUE(rows() > before || logs() > logs_before) << "not over the own writes alone";
    }
  };
  check("another connection's commit", [&] {
    auto other = OpenVault(TestOptions(dir.path()));
    auto revision = other->Set("notes", "theirs", 2);
    ASSERT_TRUE(revision.ok());
    model["theirs"] = *revision;
  });
  check("a commit by a program that knows nothing of memos",
        [&] { raw.Exec("UPDATE meta SET v = v + 1 WHERE k = 'revision_clock'"); });
  check("another connection's commit elsewhere", [&] {
    auto other = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(other->Set("highlights", "theirs", 2).ok());
  });
  check("its own clear of another namespace", [&] { ASSERT_TRUE(v->Clear("highlights").ok()); });
  check("a key rotation", [&] { ASSERT_TRUE(v->RotateKey().ok()); });
  check("a write refused as stale",
        [&] { EXPECT_EQ(v->Set("notes", Key(2), "stale", 1).status().code(), ErrorCode::kConflict); });
}

// Beyond 256 records changed since the memo was current, a process's own
// writes are no longer kept over it: listings read the rows, and are right.
TEST(VaultMemo, ManyOwnWritesGoBackToTheRows) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto model = FillAndListTwice(*v);
  const auto work = [&v] { return v->KeyedWorkForTesting(); };
  for (int i = 0; i < 256; ++i) {
    auto revision = v->Set("notes", "many-" + std::to_string(i), i);
    ASSERT_TRUE(revision.ok());
    model["many-" + std::to_string(i)] = *revision;
  }
  std::uint64_t rows = work().list_rows_read;
  ASSERT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_EQ(work().list_rows_read, rows) << "256 changes: over the memo";
  auto revision = v->Set("notes", "one-more", 1);
  ASSERT_TRUE(revision.ok());
  model["one-more"] = *revision;
  rows = work().list_rows_read;
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_GT(work().list_rows_read, rows) << "257: from the rows";
}

// Two processes (two connections) set, overwrite and delete records in one
// namespace, clear it and rotate keys, in a random order; after every step
// both list it exactly as it is, page by page, and the one that wrote last
// lists over its memo whenever it can.
TEST(VaultMemo, RandomOwnAndForeignChangesAlwaysListExactly) {
  TempDir dir;
  auto a = OpenVault(TestOptions(dir.path()));
  auto b = OpenVault(TestOptions(dir.path()));
  std::map<std::string, std::int64_t> model = FillAndListTwice(*a);
  std::mt19937 random(20261129);
  auto pick = [&random](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  for (int step = 0; step < 400; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    Vault& v = pick(4) == 0 ? *b : *a;
    const std::string key = Key(pick(kRecords + 10));
    const int what = pick(100);
    if (what < 55) {
      auto revision = v.Set("notes", key, step);
      ASSERT_TRUE(revision.ok());
      model[key] = *revision;
    } else if (what < 85) {
      const Status s = v.Delete("notes", key);
      ASSERT_EQ(s.ok(), model.count(key) == 1) << s.ToString();
      model.erase(key);
    } else if (what < 95) {
      ASSERT_TRUE(v.Set("highlights", key, step).ok());
    } else if (what < 98) {
      ASSERT_TRUE(v.RotateKey().ok());
    } else {
      ASSERT_TRUE(v.Clear("notes").ok());
      model.clear();
    }
    ASSERT_EQ(ListAll(*a, "notes"), Expected(model));
    if (pick(3) == 0) {
      ASSERT_EQ(ListAll(*b, "notes"), Expected(model));
    }
  }
  EXPECT_GT(a->KeyedWorkForTesting().pages_over_own_writes, 100u) << "the writes were listed over the memo";
}

// ---- memo logs: another process's writes, listed over the memo

// A vault in `dir` whose "notes" `v` filled and listed (FillAndListTwice),
// shared with `other`, whose write made `v` start a log (StartSharing);
// `model` holds the records as they are.
struct SharedNotes {
  explicit SharedNotes(const std::filesystem::path& dir)
      : v(OpenVault(TestOptions(dir))),
        model(FillAndListTwice(*v)),
        other(OpenVault(TestOptions(dir))),
        raw(dir / "vault.db") {
    model[Key(0)] = StartSharing(*v, *other, Key(0));
  }
  std::unique_ptr<Vault> v;
  std::map<std::string, std::int64_t> model;
  std::unique_ptr<Vault> other;
  RawDb raw;
};

// Another process's sets reach a process's listing through the memo's log:
// the rows it changed are read (and their new names opened), not the
// namespace's. A deletion ends the log with the memo, and the next listing
// reads the rows; a new process that loads the memo lists over its log too.
TEST(VaultMemoLog, AnotherProcesssSetsAreListedOverTheMemo) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto model = FillAndListTwice(*v);
  auto other = OpenVault(TestOptions(dir.path()));
  RawDb raw(dir.path() / "vault.db");
  const auto work = [&v] { return v->KeyedWorkForTesting(); };
  auto theirs = [&](Vault& writer, const std::string& key) {
    auto revision = writer.Set("notes", key, "theirs");
    ASSERT_TRUE(revision.ok());
    model[key] = *revision;
  };
  model[Key(0)] = StartSharing(*v, *other, Key(0));
  theirs(*other, "new-1");
  theirs(*other, "new-2");
  theirs(*other, Key(3));
  ASSERT_TRUE(other->Set("highlights", "h", 1).ok());
  EXPECT_EQ(Logged(raw, "notes"), 3);
  EXPECT_EQ(Logged(raw, "highlights"), 0) << "no memo there, no log";
  Vault::KeyedWork before = work();
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_EQ(work().list_rows_read, before.list_rows_read) << "no listing of the rows";
  EXPECT_EQ(work().memos_over_logs, before.memos_over_logs + 1) << "one read of the log for all pages";
  EXPECT_EQ(work().names_opened, before.names_opened + 3) << "the three names sealed elsewhere";

  theirs(*v, "own");  // Kept over the log's changes.
  before = work();
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_EQ(work().list_rows_read, before.list_rows_read);
  EXPECT_EQ(work().memos_over_logs, before.memos_over_logs) << "over the own writes";

  auto fresh = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(ListAll(*fresh, "notes"), Expected(model));
  EXPECT_EQ(fresh->KeyedWorkForTesting().list_rows_read, 0u) << "a new process loads the memo and its log";
  EXPECT_EQ(fresh->KeyedWorkForTesting().memos_over_logs, 1u);

  ASSERT_TRUE(other->Delete("notes", "new-1").ok());
  model.erase("new-1");
  EXPECT_EQ(raw.Int("SELECT (SELECT COUNT(*) FROM name_memo_logs WHERE ns = 'notes') + "
                    "(SELECT COUNT(*) FROM name_memo_changes WHERE ns = 'notes')"),
            0)
      << "ended with the memo";
  before = work();
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_GT(work().list_rows_read, before.list_rows_read) << "a deletion is never listed from a log";
}

// A log lists only over the memo it started from. When another process
// rewrote the memo since, a process holding the older one loads the stored
// memo and lists over its log; if the stored memo is not the one the log
// started from (an earlier host's, say), the rows are read: the changes
// between the two memos are in neither the log nor the memo held.
TEST(VaultMemoLog, ALogListsOnlyOverTheMemoItStartedFrom) {
  TempDir dir;
  SharedNotes shared(dir.path());
  auto& [v, model, other, raw] = shared;
  const auto ours = raw.Blob("SELECT memo FROM name_memos WHERE ns = 'notes'");
  auto theirs = [&](const std::string& key) {
    auto revision = other->Set("notes", key, "theirs");
    ASSERT_TRUE(revision.ok());
    model[key] = *revision;
  };
  theirs("between-the-memos");
  raw.Exec("DELETE FROM name_memos");  // So the other process writes its own.
  EXPECT_EQ(ListAll(*other, "notes"), Expected(model));
  ASSERT_EQ(CurrentMemos(raw), 1);
  const auto their_memo = raw.Blob("SELECT memo FROM name_memos WHERE ns = 'notes'");
  ASSERT_NE(their_memo, ours);
  theirs("after-their-memo");
  EXPECT_EQ(Logged(raw, "notes"), 1) << "its log starts at its memo";
  const auto work = [&v] { return v->KeyedWorkForTesting(); };

  // The stored memo is not the one the log started from.
  raw.SetBlob("UPDATE name_memos SET memo = ? WHERE ns = 'notes'", ours);
  Vault::KeyedWork before = work();
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_EQ(work().memos_over_logs, before.memos_over_logs);
  EXPECT_GT(work().list_rows_read, before.list_rows_read);

  // It is: loaded, and listed over its log.
  raw.SetBlob("UPDATE name_memos SET memo = ? WHERE ns = 'notes'", their_memo);
  theirs("after-their-memo");
  before = work();
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_EQ(work().memos_over_logs, before.memos_over_logs + 1);
  EXPECT_EQ(work().list_rows_read, before.list_rows_read);
}

// A host alone keeps no log: its own writes are listed over its memo, and
// a log would cost each first write of a record a page. It starts one once
// it sees another connection commit.
TEST(VaultMemoLog, AHostAloneKeepsNoLog) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    FillAndListTwice(*v);
    ASSERT_TRUE(v->Delete("notes", Key(1)).ok());  // And the memo with it.
  }
  RawDb raw(dir.path() / "vault.db");
  auto alone = OpenVault(TestOptions(dir.path()));
  ListAll(*alone, "notes");  // Writes a memo.
  ASSERT_EQ(CurrentMemos(raw), 1);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memo_logs"), 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(alone->Set("notes", "own-" + std::to_string(i), i).ok());
  ListAll(*alone, "notes");
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memo_changes"), 0);
  auto other = OpenVault(TestOptions(dir.path()));
  StartSharing(*alone, *other, Key(2));
}

// Opening a logged row's name can fill the process's name cache, which is
// then cleared whole, the memo held with it: that listing reads the rows,
// and never lists from the memo it held before.
TEST(VaultMemoLog, ACacheClearedWhileReadingTheLogSendsTheListingToTheRows) {
  TempDir dir;
  std::map<std::string, std::int64_t> model;
  {
    auto writer = OpenVault(TestOptions(dir.path()));
    model = FillAndListTwice(*writer);
    for (const char* ns : {"highlights", "bookmarks"}) {
      Fill(*writer, ns);
      ListAll(*writer, ns);
    }
  }
  // Three memos, as a memo may take half the cache at most, and a name
  // opened may need room for the table of opened names to grow.
  std::size_t memos_bytes = 0;
  {
    auto probe = OpenVault(TestOptions(dir.path()));
    EXPECT_EQ(ListAll(*probe, "notes"), Expected(model));
    ListAll(*probe, "highlights");
    ListAll(*probe, "bookmarks");
    memos_bytes = probe->NameCacheBytesForTesting();
    ASSERT_GT(memos_bytes, 0u);
  }
  VaultOptions tight = TestOptions(dir.path());
  tight.name_cache_bytes = memos_bytes + 64;  // The memos, and not one opened name more.
  auto v = OpenVault(tight);
  auto other = OpenVault(TestOptions(dir.path()));
  model[Key(0)] = StartSharing(*v, *other, Key(0));
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    ListAll(*v, "highlights");  // Their memos loaded, beside the notes' one.
    ListAll(*v, "bookmarks");
    const std::string key = "theirs-" + std::to_string(round);
    auto revision = other->Set("notes", key, round);
    ASSERT_TRUE(revision.ok());
    model[key] = *revision;
    const Vault::KeyedWork before = v->KeyedWorkForTesting();
    EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
    EXPECT_GT(v->KeyedWorkForTesting().list_rows_read, before.list_rows_read) << "the first page from the rows";
  }
}

// A log is listed over only while it covers every change since its memo.
// An earlier host, opening the vault, puts back its own triggers (which keep
// no log) and drops the memos, and may write a memo of its own; a change
// made then is not in the log, whose start it does not touch, but the
// schema version moved, so the log is not used. A new host opening the
// vault puts the triggers back and empties every log.
TEST(VaultMemoLog, AnEarlierHostsTriggersEndTheLog) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto model = FillAndListTwice(*v);
  auto other = OpenVault(TestOptions(dir.path()));  // Open before the triggers change.
  model[Key(0)] = StartSharing(*v, *other, Key(0));
  RawDb raw(dir.path() / "vault.db");
  const auto memo = raw.Blob("SELECT memo FROM name_memos WHERE ns = 'notes'");
  const std::int64_t key_id = raw.Int("SELECT key_id FROM name_memos WHERE ns = 'notes'");
  // What an earlier host does when it opens the vault, and then its memo
  // (the same names: this process's very memo, so only the log tells).
  raw.Exec("DROP TRIGGER records_insert_memo");
  raw.Exec("DROP TRIGGER records_update_memo");
  raw.Exec("DROP TRIGGER records_delete_memo");
  raw.Exec(
      "CREATE TRIGGER records_insert_memo AFTER INSERT ON records BEGIN "
      "UPDATE name_memos SET current = 0 WHERE ns = NEW.ns AND current != 0; END");
  raw.Exec(
      "CREATE TRIGGER records_update_memo AFTER UPDATE ON records BEGIN "
      "UPDATE name_memos SET current = 0 WHERE ns IN (OLD.ns, NEW.ns) AND current != 0; END");
  raw.Exec(
      "CREATE TRIGGER records_delete_memo AFTER DELETE ON records BEGIN "
      "DELETE FROM name_memos WHERE ns = OLD.ns; END");
  raw.Exec("DELETE FROM name_memos");
  raw.SetBlob("INSERT INTO name_memos (ns, key_id, current, memo) VALUES ('notes', " +
                  std::to_string(key_id) + ", 1, ?)",
              memo);
  auto revision = other->Set("notes", "unlogged", 1);
  ASSERT_TRUE(revision.ok());
  model["unlogged"] = *revision;
  ASSERT_EQ(LogStarts(raw, "notes"), 1) << "the start stays";
  ASSERT_EQ(Logged(raw, "notes"), 0) << "and the change is not logged";
  const Vault::KeyedWork before = v->KeyedWorkForTesting();
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_EQ(v->KeyedWorkForTesting().memos_over_logs, before.memos_over_logs);
  EXPECT_GT(v->KeyedWorkForTesting().list_rows_read, before.list_rows_read);

  // A memo written under those triggers starts no log.
  raw.Exec("DELETE FROM name_memos");
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  ASSERT_EQ(CurrentMemos(raw), 1);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memo_logs"), 0);
  revision = other->Set("notes", "unlogged-2", 1);
  ASSERT_TRUE(revision.ok());
  model["unlogged-2"] = *revision;
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));

  // A log left from before (which the earlier triggers did not keep).
  raw.Exec("INSERT INTO name_memo_logs VALUES ('highlights', zeroblob(12), 1)");
  raw.Exec("INSERT INTO name_memo_changes VALUES ('highlights', 1)");
  auto fresh = OpenVault(TestOptions(dir.path()));  // Puts the triggers back.
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos"), 0);
  EXPECT_EQ(
      raw.Int("SELECT (SELECT COUNT(*) FROM name_memo_logs) + (SELECT COUNT(*) FROM name_memo_changes)"), 0)
      << "every log emptied";
  EXPECT_EQ(
      raw.Int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%name_memo_changes%'"),
      3);
  EXPECT_EQ(ListAll(*fresh, "notes"), Expected(model));
  model[Key(1)] = StartSharing(*fresh, *other, Key(1));
  revision = other->Set("notes", "logged", 1);
  ASSERT_TRUE(revision.ok());
  model["logged"] = *revision;
  EXPECT_EQ(Logged(raw, "notes"), 1);
  EXPECT_EQ(ListAll(*fresh, "notes"), Expected(model));
  EXPECT_EQ(fresh->KeyedWorkForTesting().memos_over_logs, 1u);
}

// A log that an edited file holds wrong is not trusted past what it can
// show: an entry for a row gone or in another namespace sends the listing to
// the rows.
TEST(VaultMemoLog, LogsThatCannotBeRightSendListingsToTheRows) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto model = FillAndListTwice(*v);
  Fill(*v, "highlights");
  auto other = OpenVault(TestOptions(dir.path()));
  model[Key(0)] = StartSharing(*v, *other, Key(0));
  RawDb raw(dir.path() / "vault.db");
  const auto rows = [&v] { return v->KeyedWorkForTesting().list_rows_read; };
  auto theirs = [&](const std::string& key) {
    auto revision = other->Set("notes", key, "theirs");
    ASSERT_TRUE(revision.ok());
    model[key] = *revision;
  };
  for (const std::string where :
       {"(SELECT MAX(id) + 1000 FROM records)", "(SELECT MIN(id) FROM records WHERE ns = 'highlights')"}) {
    SCOPED_TRACE(where);
    ListAll(*v, "notes");  // A memo and log of its own again.
    ASSERT_EQ(LogStarts(raw, "notes"), 1);
    theirs("theirs-" + std::to_string(rows()));
    raw.Exec("UPDATE name_memo_changes SET id = " + where + " WHERE ns = 'notes'");
    const std::uint64_t before = rows();
    EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
    EXPECT_GT(rows(), before) << "from the rows";
    raw.Exec("DELETE FROM name_memos");  // The next round writes a memo afresh.
  }
}

// A listing takes a log's changes only while there are fewer than
// max(8, an eighth of the memo's names): here, of 40 names, 8. The write
// that makes a log that long, by a process that holds the memo the log
// started from, ends it, so later first writes of records pay no page for
// entries no listing would read. Listings stay exact; the next one after
// another process's write reads the rows, and here (10 rows changed)
// rewrites the memo, which starts a new log.
TEST(VaultMemoLog, AFullLogIsEndedByTheWriteThatFillsIt) {
  TempDir dir;
  SharedNotes shared(dir.path());
  auto& [v, model, other, raw] = shared;
  auto set = [&](Vault& writer, int i) {
    auto revision = writer.Set("notes", Key(i), -i);
    ASSERT_TRUE(revision.ok());
    model[Key(i)] = *revision;
  };
  const auto ended = [&v] { return v->KeyedWorkForTesting().memo_logs_ended; };
  const auto rows = [&v] { return v->KeyedWorkForTesting().list_rows_read; };

  for (int i = 1; i < 8; ++i) set(*v, i);
  EXPECT_EQ(Logged(raw, "notes"), 7);
  {
    auto fresh = OpenVault(TestOptions(dir.path()));
    EXPECT_EQ(ListAll(*fresh, "notes"), Expected(model));
    EXPECT_EQ(fresh->KeyedWorkForTesting().memos_over_logs, 1u) << "7 changes: listed over";
    EXPECT_EQ(fresh->KeyedWorkForTesting().list_rows_read, 0u);
  }
  const std::uint64_t before = ended();
  set(*v, 8);
  EXPECT_EQ(ended(), before + 1) << "8 changes: ended";
  EXPECT_EQ(LogStarts(raw, "notes"), 0);
  EXPECT_EQ(Logged(raw, "notes"), 0);
  set(*v, 9);
  EXPECT_EQ(Logged(raw, "notes"), 0) << "later writes log nothing";
  std::uint64_t read = rows();
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_EQ(rows(), read) << "its own writes, over its memo";

  set(*other, 10);
  EXPECT_EQ(Logged(raw, "notes"), 0);
  read = rows();
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model));
  EXPECT_GT(rows(), read) << "another's write, and no log: the rows";
  EXPECT_EQ(CurrentMemos(raw), 1) << "the memo rewritten";
  EXPECT_EQ(LogStarts(raw, "notes"), 1) << "with a new log";
  set(*other, 11);
  EXPECT_EQ(Logged(raw, "notes"), 1);
}

// A row moved to another namespace (no host does so; an edited file can)
// leaves the old namespace as a deletion does, without its memo and log,
// so no listing over them shows it there.
TEST(VaultMemoLog, ARowMovedOutOfANamespaceEndsItsMemoAndLog) {
  TempDir dir;
  SharedNotes shared(dir.path());
  auto& [v, model, other, raw] = shared;
  auto revision = other->Set("notes", Key(3), "theirs");  // Logged.
  ASSERT_TRUE(revision.ok());
  model[Key(3)] = *revision;
  ASSERT_EQ(Logged(raw, "notes"), 1);
  // A row the log does not name: only the memo has it.
  raw.Exec("UPDATE records SET ns = 'elsewhere' WHERE ns = 'notes' AND revision = " +
           std::to_string(model[Key(5)]));
  model.erase(Key(5));
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM name_memos WHERE ns = 'notes'"), 0);
  EXPECT_EQ(LogStarts(raw, "notes"), 0);
  EXPECT_EQ(Logged(raw, "notes"), 0);
  EXPECT_EQ(ListAll(*v, "notes"), Expected(model)) << "the process that held the memo";
  EXPECT_EQ(ListAll(*OpenVault(TestOptions(dir.path())), "notes"), Expected(model));
}

}  // namespace
}  // namespace bellwether::vault
