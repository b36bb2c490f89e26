#!/usr/bin/env bash
# revoker bulk, with no --rate, against a local provider whose limit it is not
# told (a token bucket, revoker-limited-server), for each limit and each way of
# signalling it. Prints a Markdown table: time against the ideal N / limit, and
# against the strict ideal (N - burst) / limit (the bucket's burst is free), the
# share of requests answered 429, and the keys lost (not revoked at the server). Every run: default concurrency (32), default --max-attempts (4).
#
# Usage: benches/rate_limits.sh [SCENARIO...]
#   SCENARIO is LIMIT:STYLE:KEYS[:BURST] (STYLE: retry-after, bare, x-ratelimit,
#   ietf); the default set covers 1, 20, 100 and 1000/s with retry-after, bare
#   and x-ratelimit. PROFILE=debug uses target/debug (default: release).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-release}
PORT=${PORT:-4019}
BASE="http://127.0.0.1:$PORT"
BIN=target/$PROFILE
if [ "$PROFILE" = release ]; then cargo build --release --workspace -q; else cargo build --workspace -q; fi

if [ $# -eq 0 ]; then
  set -- 1:retry-after:100 1:bare:100 1:x-ratelimit:100 \
    20:retry-after:600 20:bare:600 20:x-ratelimit:600 \
    100:retry-after:3000 100:bare:3000 100:x-ratelimit:3000 \
    1000:retry-after:30000 1000:bare:30000 1000:x-ratelimit:30000
fi

work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
now() { date +%s.%N; }

echo "| limit | burst | signal | keys | time | N ÷ limit | × that | × (N − burst) ÷ limit | requests | 429s | 429 share | keys lost |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for scenario in "$@"; do
  IFS=: read -r limit style keys burst <<<"$scenario"
  burst=${burst:-$limit}
  "$BIN/revoker-limited-server" "$PORT" "$limit" "$style" "$burst" &
  server=$!
  for _ in $(seq 100); do curl -s -o /dev/null "$BASE/stats" && break; sleep 0.05; done
  awk -v n="$keys" 'BEGIN { for (i = 0; i < n; i++) printf "{\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{\"id\":\"00000000-0000-4000-8000-%012x\"}}\n", i }' >"$work/keys.jsonl"
  rm -f "$work/journal" "$work/report.jsonl"
  start=$(now)
  code=0
  REVOKER_DOLFIN_BASE_URL=$BASE DOLFIN_API_KEY=bench-made-up-key \
    "$BIN/revoker" bulk "$work/keys.jsonl" --yes -q \
    --journal "$work/journal" --report "$work/report.jsonl" >/dev/null || code=$?
  secs=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  stats=$(curl -s "$BASE/stats")
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=
  revoked=$(sed -E 's/.*"revoked":([0-9]+).*/\1/' <<<"$stats")
  ok=$(sed -E 's/.*"ok":([0-9]+).*/\1/' <<<"$stats")
  throttled=$(sed -E 's/.*"throttled":([0-9]+).*/\1/' <<<"$stats")
  awk -v l="$limit" -v b="$burst" -v s="$style" -v n="$keys" -v t="$secs" -v ok="$ok" -v th="$throttled" -v r="$revoked" -v code="$code" 'BEGIN {
    ideal = n / l; strict = (n - b) / l
    req = ok + th
    printf "| %s/s | %s | %s | %d | %.1f s | %.1f s | %.2f | %s | %d | %d | %.1f %% | %d%s |\n", l, b, s, n, t, ideal, t / ideal, (strict > 0 ? sprintf("%.2f", t / strict) : "-"), req, th, 100 * th / req, n - r, (code == 0 ? "" : " (exit " code ")")
  }'
done
