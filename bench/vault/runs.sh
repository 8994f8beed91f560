#!/usr/bin/env bash
# Runs vault_bench several times, each a fresh process, and prints for each
# row the median of the runs' ratios with the lowest and the highest.
#
# Why: within one run the rounds agree closely (a narrow IQR), but runs
# differ from each other by several percent on the 1 KiB rows, as each
# process draws its own memory layout (ASLR) and the two stores' code and
# data fall on different cache sets. One run is one draw; the median of
# several is the number to quote.
#
# Usage: bench/vault/runs.sh VAULT_BENCH RUNS [vault_bench arguments...]
#   e.g. bench/vault/runs.sh build/release/bench/vault/vault_bench 9 \
#          --dir ~/.local/share --gets 30000 --lists 600 --fresh 30
set -euo pipefail
if [ $# -lt 2 ] || ! [ -x "$1" ] || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 VAULT_BENCH RUNS [vault_bench arguments...]" >&2
  exit 2
fi
bench=$1 runs=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((i = 1; i <= runs; i++)); do
  # Rows look like: "get   1024 B   30000 ops ... ratio 1.074 (+7.4%) IQR ...".
  "$bench" "$@" | awk '/ ratio / { for (i = 1; i <= NF; i++) if ($i == "ratio") print $1, $2, $(i + 1) }' >>"$out"
done
echo "vault_bench, $runs runs: median ratio across runs [lowest-highest], runs above 1.15"
awk '
  { key = $1 " " $2; if (!(key in n)) order[++rows] = key; v[key, ++n[key]] = $3 }
  END {
    for (r = 1; r <= rows; r++) {
      key = order[r]; m = n[key]
      for (i = 1; i <= m; i++) s[i] = v[key, i]
      for (i = 2; i <= m; i++) { x = s[i]; for (j = i - 1; j >= 1 && s[j] > x; j--) s[j + 1] = s[j]; s[j + 1] = x }
      med = (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
      above = 0; for (i = 1; i <= m; i++) if (s[i] > 1.15) above++
      split(key, k, " ")
      # 1st-call is the unlock against a missing-key get: a fixed cost, not a throughput.
      note = k[1] == "1st-call" ? "(the unlock: a fixed cost)" : sprintf("%d of %d above 1.15", above, m)
      printf "%-10s %6s B  median %.3f  [%.3f-%.3f]  %s\n", k[1], k[2], med, s[1], s[m], note
    }
  }' "$out"
