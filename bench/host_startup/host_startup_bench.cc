// Whole-process benchmark: the time for a fresh process to answer one
// host.ping frame, which is what Chromium pays for every sendNativeMessage.
// bellwether-host is measured next to echo_host (the floor), interleaved in
// one run so machine noise hits both alike; the ratio of medians is printed.
//
//   bench_host_startup [iterations=200] [other-host-binary]
//
// With a second host binary (another build, say), it is timed in the same
// interleaved loop, so two builds can be compared side by side.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr char kPing[] = R"({"jsonrpc":"2.0","id":1,"method":"host.ping"})";
constexpr char kOrigin[] = "chrome-extension://obajhhhbadjoohblhiihokphelkapblg/";

// Spawns `binary`, sends one ping frame, reads one reply frame, reaps it.
// Returns the elapsed microseconds, or -1 on any failure.
double OneRoundTrip(const char* binary) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return -1;
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    execl(binary, binary, kOrigin, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  auto len = static_cast<std::uint32_t>(std::strlen(kPing));
  std::string frame(4, '\0');
  std::memcpy(frame.data(), &len, 4);
  frame += kPing;
  bool ok = write(in[1], frame.data(), frame.size()) == static_cast<ssize_t>(frame.size());
  close(in[1]);  // sendNativeMessage: one message, then the browser closes the pipe.
  std::uint32_t reply_len = 0;
  ok = ok && read(out[0], &reply_len, 4) == 4 && reply_len > 0;
  std::string reply(reply_len, '\0');
  std::size_t got = 0;
  while (ok && got < reply_len) {
    ssize_t n = read(out[0], reply.data() + got, reply_len - got);
    if (n <= 0) ok = false; else got += static_cast<std::size_t>(n);
  }
  auto end = std::chrono::steady_clock::now();
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return std::chrono::duration<double, std::micro>(end - start).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  if (iterations < 1) return 2;
  const char* host = BELLWETHER_HOST_BIN;
  const char* floor = ECHO_HOST_BIN;
  const char* other = argc > 2 ? argv[2] : nullptr;
  // A private HOME so the benchmark does not touch the user's files.
  char tmpl[] = "/tmp/bw-bench-XXXXXX";
  const char* home = mkdtemp(tmpl);
  setenv("HOME", home, 1);
  setenv("XDG_STATE_HOME", (std::string(home) + "/state").c_str(), 1);
  setenv("XDG_CONFIG_HOME", (std::string(home) + "/config").c_str(), 1);

  for (int i = 0; i < 10; ++i) {  // Warm the page cache for every binary.
    OneRoundTrip(host);
    OneRoundTrip(floor);
    if (other != nullptr) OneRoundTrip(other);
  }
  std::vector<double> host_us, floor_us, other_us;
  for (int i = 0; i < iterations; ++i) {
    // Alternate the order (ABBA) so neither binary always runs first.
    double h = 0, f = 0, o = 0;
    if (i % 2 == 0) {
      h = OneRoundTrip(host);
      f = OneRoundTrip(floor);
      if (other != nullptr) o = OneRoundTrip(other);
    } else {
      if (other != nullptr) o = OneRoundTrip(other);
      f = OneRoundTrip(floor);
      h = OneRoundTrip(host);
    }
    if (h < 0 || f < 0 || o < 0) {
      std::fprintf(stderr, "round trip failed at iteration %d\n", i);
      return 1;
    }
    host_us.push_back(h);
    floor_us.push_back(f);
    if (other != nullptr) other_us.push_back(o);
  }
  double hm = Median(host_us), fm = Median(floor_us);
  std::printf("fresh process answering one frame, %d interleaved runs each\n", iterations);
  std::printf("%-18s median %8.0f us   p90 %8.0f us\n", "bellwether-host", hm, Percentile(host_us, 0.9));
  std::printf("%-18s median %8.0f us   p90 %8.0f us\n", "echo_host (floor)", fm, Percentile(floor_us, 0.9));
  std::printf("ratio host/floor (medians): %.2f\n", hm / fm);
  if (other != nullptr) {
    double om = Median(other_us);
    std::printf("%-18s median %8.0f us   p90 %8.0f us   (%s)\n", "other host", om, Percentile(other_us, 0.9),
                other);
    std::printf("ratio other/floor (medians): %.2f; host/other: %.2f\n", om / fm, hm / om);
  }
  std::string cleanup = std::string("rm -rf ") + home;
  return std::system(cleanup.c_str()) == 0 ? 0 : 1;
}
