#!/usr/bin/env bash
# Revoker's bulk CLI against nginx on 127.0.0.1, beside a hand-written client
# and wrk, in alternating runs:
#   revoker bulk (journal + report on) · a hand-written tokio + reqwest client
#   (`revoker-bench-reqwest`, buffer_unordered) · wrk (2 threads, same concurrency)
# over plain HTTP/1.1 and over TLS with HTTP/2 (a self-signed CA made for the
# run, trusted through SSL_CERT_FILE; both clients offer h2 by ALPN and nginx
# picks it). nginx answers Pinata's documented success for revoke-gateway-key
# (`DELETE /v3/gateways/{gateway}/access_tokens/{key}`: 200 `{"data":null}`)
# from a static `return 200`. Prints requests/s, the ratios of each run and,
# where `perf stat` works, each client's CPU time per key (task-clock). Before
# the runs, checks that revoker speaks HTTP/2 to nginx over TLS.
#
# Usage: benches/nginx.sh [N=20000] [CONCURRENCY=64] [RUNS=3] [CASES="http h2"]
# Needs nginx, openssl and wrk (Debian: apt-get install nginx wrk). wrk speaks
# HTTP/1.1 only: its TLS figure is HTTP/1.1 over TLS.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-20000}
C=${2:-64}
RUNS=${3:-3}
CASES=${4:-"http h2"}
PORT=${PORT:-4019}
TLS_PORT=${TLS_PORT:-4443}
CHECK_PORT=${CHECK_PORT:-4444}
BIN=target/release
for tool in nginx openssl wrk; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

cargo build --release --workspace -q
work=$(mktemp -d)
nginx_pid=""
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A CA for this run only, and a certificate for 127.0.0.1 signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=revoker-bench-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$work/ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -days 1 -extfile "$work/ext" -out "$work/server.pem" 2>/dev/null

mkdir -p "$work/nginx/logs"
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  # Every path under the run's directory: nginx as any user, nothing left.
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$PORT;
    listen 127.0.0.1:$TLS_PORT ssl http2;
    ssl_certificate $work/server.pem;
    ssl_certificate_key $work/server.key;
    location /v3/gateways/ {
      default_type application/json;
      return 200 '{"data":null}';
    }
    location = /protocol {
      default_type text/plain;
      return 200 "\$server_protocol";
    }
  }
  # The same answer, logging the protocol of each request: which one revoker
  # speaks over TLS is checked here, apart from the timed runs.
  log_format protocol '\$server_protocol';
  server {
    listen 127.0.0.1:$CHECK_PORT ssl http2;
    ssl_certificate $work/server.pem;
    ssl_certificate_key $work/server.key;
    access_log $work/nginx/logs/protocol.log protocol;
    location /v3/gateways/ {
      default_type application/json;
      return 200 '{"data":null}';
    }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx.conf" &
nginx_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/protocol" && break; sleep 0.1; done
# What the TLS port speaks to a client that offers h2, as both clients do.
proto=$(curl -s --http2 --cacert "$work/ca.pem" "https://127.0.0.1:$TLS_PORT/protocol")
[ "$proto" = "HTTP/2.0" ] || { echo "nginx does not answer HTTP/2 over TLS: $proto" >&2; exit 1; }

# revoker offers h2 by ALPN, and speaks it when the provider picks it.
awk 'BEGIN { for (i = 0; i < 10; i++) printf "{\"provider\":\"pinata\",\"operation\":\"revoke-gateway-key\",\"params\":{\"gateway-id\":\"g\",\"key-id\":\"k%d\"}}\n", i }' >"$work/check.jsonl"
SSL_CERT_FILE="$work/ca.pem" REVOKER_PINATA_BASE_URL="https://127.0.0.1:$CHECK_PORT" PINATA_JWT=bench-made-up-jwt \
  "$BIN/revoker" bulk "$work/check.jsonl" --yes -q >/dev/null
spoken=$(sort -u "$work/nginx/logs/protocol.log" | tr '\n' ' ')
[ "$spoken" = "HTTP/2.0 " ] || { echo "revoker spoke $spoken over TLS, not HTTP/2 alone" >&2; exit 1; }

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "{\"provider\":\"pinata\",\"operation\":\"revoke-gateway-key\",\"params\":{\"gateway-id\":\"bench-gateway\",\"key-id\":\"00000000-0000-4000-8000-%012x\"}}\n", i }' >"$work/keys.jsonl"
cat >"$work/wrk.lua" <<'LUA'
wrk.method = "DELETE"
wrk.path = "/v3/gateways/bench-gateway/access_tokens/00000000-0000-4000-8000-000000000000"
wrk.headers["Authorization"] = "Bearer bench-made-up-jwt"
LUA

now() { date +%s.%N; }
# Runs a command; with perf, its task-clock (ms) goes to $work/cpu.
measured() {
  if [ -n "$PERF" ]; then
    perf stat -x, -e task-clock -o "$work/cpu.raw" -- "$@"
    awk -F, '/task-clock/ { printf "%.0f", $1 }' "$work/cpu.raw" >"$work/cpu"
  else
    "$@"
    echo - >"$work/cpu"
  fi
}
PERF=""
perf stat -e task-clock true >/dev/null 2>&1 && PERF=1
per_key() { # MS -> µs per key
  [ "$1" = - ] && { echo -; return; }
  awk -v ms="$1" -v n="$N" 'BEGIN { printf "%.1f", ms * 1000 / n }'
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

revoker_rate() { # BASE
  rm -f "$work/journal" "$work/report.jsonl"
  local start s
  start=$(now)
  SSL_CERT_FILE="$work/ca.pem" REVOKER_PINATA_BASE_URL=$1 PINATA_JWT=bench-made-up-jwt \
    measured "$BIN/revoker" bulk "$work/keys.jsonl" --concurrency "$C" --yes -q \
    --journal "$work/journal" --report "$work/report.jsonl" >/dev/null
  s=$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')
  [ "$(grep -c '"outcome":"revoked"' "$work/report.jsonl")" -eq "$N" ] ||
    { echo "revoker did not revoke every key" >&2; exit 1; }
  cp "$work/cpu" "$work/cpu.revoker"
  rate "$N" "$s"
}
reqwest_rate() { # BASE
  local s
  s=$(SSL_CERT_FILE="$work/ca.pem" measured "$BIN/revoker-bench-reqwest" "$1" "$N" "$C" pinata)
  cp "$work/cpu" "$work/cpu.reqwest"
  rate "$N" "$s"
}
wrk_rate() { # BASE
  wrk -t2 -c"$C" -d5s -s "$work/wrk.lua" "$1" | awk '/^Requests\/sec/ { printf "%.0f", $2 }'
}

echo "machine: $(nproc) cores, $(uname -sr); nginx $(nginx -v 2>&1 | sed 's/.*\///'), 1 worker; $N keys, concurrency $C"
for case in $CASES; do
  case $case in
    http) base="http://127.0.0.1:$PORT"; label="HTTP/1.1" ;;
    h2) base="https://127.0.0.1:$TLS_PORT"; label="TLS + HTTP/2 (wrk: TLS + HTTP/1.1)" ;;
    *) echo "unknown case $case: http or h2" >&2; exit 1 ;;
  esac
  echo
  echo "$label, $base"
  printf '%-4s %10s %10s %10s %10s %10s %14s %14s\n' run revoker reqwest wrk "÷ reqwest" "÷ wrk" "revoker CPU" "reqwest CPU"
  for run in $(seq "$RUNS"); do
    # Alternate the order, so neither client always runs on a warmer machine.
    if [ $((run % 2)) -eq 1 ]; then
      r=$(revoker_rate "$base"); q=$(reqwest_rate "$base")
    else
      q=$(reqwest_rate "$base"); r=$(revoker_rate "$base")
    fi
    w=$(wrk_rate "$base")
    printf '%-4s %10s %10s %10s %10s %10s %11s µs %11s µs\n' "$run" "$r" "$q" "$w" \
      "$(ratio "$r" "$q")" "$(ratio "$r" "$w")" \
      "$(per_key "$(cat "$work/cpu.revoker")")" "$(per_key "$(cat "$work/cpu.reqwest")")"
  done
done
