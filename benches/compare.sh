#!/usr/bin/env bash
# Revoker's bulk CLI side by side with what people use instead, in one run,
# against one fast local server on 127.0.0.1:
#   revoker bulk (journal + report on) · a hand-written tokio+reqwest client ·
#   xargs -P16 curl · Python aiohttp (if installed)
# Prints requests/s and how many times faster revoker is.
#
# Usage: benches/compare.sh [N=20000] [CONCURRENCY=64] [CURL_N=2000]
# (curl is slow: it revokes CURL_N keys and its rate is computed from those.)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-20000}
C=${2:-64}
CURL_N=${3:-2000}
PORT=${PORT:-4017}
BASE="http://127.0.0.1:$PORT"
BIN=target/release

cargo build --release --workspace -q
work=$(mktemp -d)
"$BIN/revoker-bench-server" "$PORT" 1 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "$BASE/" && break; sleep 0.1; done

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "{\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{\"id\":\"00000000-0000-4000-8000-%012x\"}}\n", i }' >"$work/keys.jsonl"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

start=$(now)
REVOKER_DOLFIN_BASE_URL=$BASE DOLFIN_API_KEY=bench-made-up-key \
  "$BIN/revoker" bulk "$work/keys.jsonl" --concurrency "$C" --yes -q \
  --journal "$work/journal" --report "$work/report.jsonl" >/dev/null
revoker_s=$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')
[ "$(wc -l <"$work/report.jsonl")" -eq "$N" ] || { echo "revoker did not report every line" >&2; exit 1; }
grep -c '"outcome":"revoked"' "$work/report.jsonl" | grep -qx "$N" || { echo "revoker did not revoke every key" >&2; exit 1; }
revoker_rate=$(rate "$N" "$revoker_s")

reqwest_s=$("$BIN/revoker-bench-reqwest" "$BASE" "$N" "$C")
reqwest_rate=$(rate "$N" "$reqwest_s")

awk -v n="$CURL_N" -v base="$BASE" 'BEGIN { for (i = 0; i < n; i++) printf "%s/api-keys/00000000-0000-4000-8000-%012x/revoke\n", base, i }' >"$work/urls"
start=$(now)
xargs -P16 -n1 curl -s -o /dev/null -X POST -H 'x-dolfin-api-key: bench-made-up-key' <"$work/urls"
curl_s=$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')
curl_rate=$(rate "$CURL_N" "$curl_s")

aiohttp_rate=""
if python3 -c 'import aiohttp' 2>/dev/null; then
  aiohttp_s=$(python3 - "$BASE" "$N" "$C" <<'PY'
import asyncio, sys, time
import aiohttp

base, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

async def main():
    sem = asyncio.Semaphore(c)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        async def revoke(i):
            async with sem:
                url = f"{base}/api-keys/00000000-0000-4000-8000-{i:012x}/revoke"
                async with session.post(url, headers={"x-dolfin-api-key": "bench-made-up-key"}) as r:
                    await r.read()
                    assert r.status == 204
        start = time.perf_counter()
        await asyncio.gather(*(revoke(i) for i in range(n)))
        print(f"{time.perf_counter() - start:.3f}")

asyncio.run(main())
PY
)
  aiohttp_rate=$(rate "$N" "$aiohttp_s")
fi

ratio() { awk -v a="$revoker_rate" -v b="$1" 'BEGIN { printf "%.2fx", a / b }'; }
echo "machine: $(nproc) cores, $(uname -sr); $N keys (curl: $CURL_N), concurrency $C, one local server"
printf '%-36s %10s %12s\n' "client" "requests/s" "revoker is"
printf '%-36s %10s %12s\n' "revoker bulk (journal + report)" "$revoker_rate" "-"
printf '%-36s %10s %12s\n' "hand-written tokio + reqwest" "$reqwest_rate" "$(ratio "$reqwest_rate")"
printf '%-36s %10s %12s\n' "xargs -P16 curl" "$curl_rate" "$(ratio "$curl_rate")"
if [ -n "$aiohttp_rate" ]; then
  printf '%-36s %10s %12s\n' "python aiohttp (concurrency $C)" "$aiohttp_rate" "$(ratio "$aiohttp_rate")"
else
  echo "python aiohttp: not installed (pip install aiohttp), skipped"
fi
