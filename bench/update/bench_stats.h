// Small helpers shared by the update benchmarks: timing, order statistics
// over interleaved samples, and fail-fast checks (a benchmark that hits an
// error stops with a message instead of timing a failure). Header-only.
#ifndef BELLWETHER_BENCH_UPDATE_BENCH_STATS_H_
#define BELLWETHER_BENCH_UPDATE_BENCH_STATS_H_

#include <errno.h>  // program_invocation_short_name (glibc).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace bellwether::bench {

using SteadyClock = std::chrono::steady_clock;

inline double MicrosSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::micro>(SteadyClock::now() - start).count();
}

// Nearest-rank percentile (p in [0, 1]) of a non-empty sample.
inline double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto last = static_cast<double>(values.size() - 1);
  return values[static_cast<std::size_t>(p * last + 0.5)];
}

inline double Median(const std::vector<double>& values) { return Percentile(values, 0.5); }

[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::exit(1);
}

inline void Check(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}

}  // namespace bellwether::bench

#endif  // BELLWETHER_BENCH_UPDATE_BENCH_STATS_H_
