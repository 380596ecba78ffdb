#!/usr/bin/env bash
# make lab: real traffic on loopback with per-flow truth (issue 21, part 4).
#
#   scripts/lab/lab.sh GPU_TRAIN OUT SECONDS SEED [TRAIN ARGS...]
#
# Starts the lab's own nginx, sshd, redis and dnsmasq on 127.0.3.1 (lab ports, config files in
# a temporary folder, system configs untouched), captures two phases of traffic on lo with
# tcpdump (a benign baseline, then a later benign phase with mild drift and six attacks
# interleaved), meters both with `gpu-train flows`, labels every flow by its client address,
# trains on the baseline, detects on the later phase and writes OUT/report.md and report.json.
# Benign clients use 127.0.1.x, attack kind N uses 127.0.2.N; nothing outside 127.0.0.0/8 is
# ever a target. Every loop is bounded in count and time; every service and capture is stopped
# on exit, failure and signals included. Needs root (tcpdump, nmap -S, sshd).
set -euo pipefail

GPU_TRAIN=${1:?usage: lab.sh GPU_TRAIN OUT SECONDS SEED [TRAIN ARGS...]}
OUT=${2:?}
SECONDS_TOTAL=${3:?}
SEED=${4:?}
shift 4
TRAIN_ARGS=("$@")
HERE=$(cd "$(dirname "$0")" && pwd)

case $SECONDS_TOTAL in ''|*[!0-9]*) echo "lab: LAB_SECONDS must be a whole number of seconds, got '$SECONDS_TOTAL'" >&2; exit 2;; esac
case $SEED in ''|*[!0-9]*) echo "lab: LAB_SEED must be a whole number, got '$SEED'" >&2; exit 2;; esac
if [ "$SECONDS_TOTAL" -lt 40 ] || [ "$SECONDS_TOTAL" -gt 7200 ]; then
  echo "lab: LAB_SECONDS must be between 40 and 7200, got $SECONDS_TOTAL" >&2; exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "lab: needs root (tcpdump on lo, nmap's raw SYN scan from 127.0.2.1, sshd)" >&2; exit 77
fi
[ -x "$GPU_TRAIN" ] || { echo "lab: no gpu-train binary at $GPU_TRAIN (run make build)" >&2; exit 2; }

TARGET=127.0.3.1
HTTP_PORT=18080 SSH_PORT=12222 REDIS_PORT=16379 DNS_PORT=15353
BASELINE_SECONDS=$((SECONDS_TOTAL / 2))
LATER_SECONDS=$((SECONDS_TOTAL - BASELINE_SECONDS))

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/*.pcap "$OUT"/*.csv "$OUT"/*.jsonl "$OUT"/report.* "$OUT"/model.safetensors "$OUT"/*.log
WORK=$(mktemp -d /tmp/gpu-train-lab.XXXXXX)
PIDS=()
GROUPS_TO_STOP=()

log() { echo "lab: $*" >&2; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # traffic.py leads a process group of its own: its clients and attack tools stop with it.
  for pid in "${GROUPS_TO_STOP[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # Services write their own pid files; stop what they forked (nginx's workers follow their master).
  for f in "$WORK"/nginx.pid "$WORK"/sshd.pid; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  cp "$WORK"/*.log "$OUT"/ 2>/dev/null || true
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the bind shim for tools without a source-address option -------------------------------
CC_BIN=${CC:-cc}
command -v "$CC_BIN" >/dev/null 2>&1 || CC_BIN=clang
"$CC_BIN" -shared -fPIC -O2 -o "$WORK/bindshim.so" "$HERE/bindshim.c" -ldl

# --- services ------------------------------------------------------------------------------
mkdir -p "$WORK/www/static" "$WORK/www/docs" "$WORK/nginx-body"
python3 "$HERE/traffic.py" make-site --dir "$WORK/www" --seed "$SEED"

cat > "$WORK/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log $WORK/nginx-access.log;
  client_body_temp_path $WORK/nginx-body;
  proxy_temp_path $WORK/nginx-body;
  fastcgi_temp_path $WORK/nginx-body;
  uwsgi_temp_path $WORK/nginx-body;
  scgi_temp_path $WORK/nginx-body;
  default_type application/octet-stream;
  keepalive_timeout 15;
  server {
    listen $TARGET:$HTTP_PORT;
    root $WORK/www;
    location /upload { client_max_body_size 512m; return 201 "stored\n"; }
  }
}
CONF
/usr/sbin/nginx -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon off;' &
PIDS+=($!)

ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/client_key"
cp "$WORK/client_key.pub" "$WORK/authorized_keys"
cat > "$WORK/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress $TARGET
HostKey $WORK/ssh_host_ed25519_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
# Benign clients log in with the lab's key; every password guess fails (no password is ever
# accepted for root), so the brute force is only failures, as most are.
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 200:30:400
MaxAuthTries 6
LogLevel ERROR
CONF
mkdir -p /run/sshd   # sshd's privilege-separation folder, as its service creates it
/usr/sbin/sshd -D -f "$WORK/sshd_config" -E "$WORK/sshd.log" &
PIDS+=($!)

redis-server --port "$REDIS_PORT" --bind "$TARGET" --save '' --appendonly no --dir "$WORK" \
  --protected-mode no --daemonize no --logfile "$WORK/redis.log" &
PIDS+=($!)

python3 "$HERE/traffic.py" make-zone --file "$WORK/lab.hosts" --target "$TARGET"
cat > "$WORK/dnsmasq.conf" <<CONF
port=$DNS_PORT
listen-address=$TARGET
bind-interfaces
no-resolv
no-hosts
no-poll
local=/lab.test/
addn-hosts=$WORK/lab.hosts
user=root
log-facility=$WORK/dnsmasq.log
CONF
dnsmasq -k --conf-file="$WORK/dnsmasq.conf" --pid-file="$WORK/dnsmasq.pid" &
PIDS+=($!)

python3 "$HERE/traffic.py" wait-ready --target "$TARGET" \
  --ports "http=$HTTP_PORT,ssh=$SSH_PORT,redis=$REDIS_PORT,dns=$DNS_PORT"
log "services up on $TARGET: http $HTTP_PORT, ssh $SSH_PORT, redis $REDIS_PORT, dns $DNS_PORT"

# --- the two phases, each captured on lo ---------------------------------------------------
FILTER="host $TARGET or net 127.0.1.0/24 or net 127.0.2.0/24"
capture_phase() {  # phase seconds
  local phase=$1 seconds=$2 pid traffic
  tcpdump -i lo -n -U -B 32768 -w "$OUT/$phase.pcap" "$FILTER" 2> "$WORK/tcpdump-$phase.log" &
  pid=$!
  PIDS+=($pid)
  for _ in $(seq 50); do [ -s "$OUT/$phase.pcap" ] && break; sleep 0.1; done
  sleep 0.5
  # In the background and waited for, so that a signal reaches the trap at once (bash runs a
  # trap only after a foreground child ends).
  python3 "$HERE/traffic.py" run --phase "$phase" --seconds "$seconds" --seed "$SEED" \
    --target "$TARGET" --ports "http=$HTTP_PORT,ssh=$SSH_PORT,redis=$REDIS_PORT,dns=$DNS_PORT" \
    --work "$WORK" --shim "$WORK/bindshim.so" --events "$OUT/events-$phase.csv" &
  traffic=$!
  PIDS+=($traffic)
  GROUPS_TO_STOP+=($traffic)
  wait "$traffic"
  sleep 1
  kill -INT "$pid"
  wait "$pid" || true
  grep -E 'captured|dropped' "$WORK/tcpdump-$phase.log" | sed "s/^/lab: $phase: /" >&2 || true
}
log "baseline phase: $BASELINE_SECONDS s of benign traffic"
capture_phase baseline "$BASELINE_SECONDS"
log "later phase: $LATER_SECONDS s of drifted benign traffic and six attacks"
capture_phase later "$LATER_SECONDS"

# --- meter, label, train, detect, score ----------------------------------------------------
"$GPU_TRAIN" flows --pcap "$OUT/baseline.pcap" --out "$OUT/baseline-flows.csv"
"$GPU_TRAIN" flows --pcap "$OUT/later.pcap" --out "$OUT/later-flows.csv"
python3 "$HERE/label.py" --out "$OUT/labels.csv" "$OUT/baseline-flows.csv" "$OUT/later-flows.csv"

# The baseline has one file: --period cuts it into four windows for the cross-period calibration.
PERIOD=$((BASELINE_SECONDS / 4))
mkdir -p "$OUT/train/benign"
cp "$OUT/baseline-flows.csv" "$OUT/train/benign/baseline-flows.csv"
"$GPU_TRAIN" train --data "$OUT/train" --baseline "$OUT/train/benign/baseline-flows.csv" \
  --period "$PERIOD" --malicious-shots 0 --seed "$SEED" --out "$OUT/model.safetensors" \
  ${TRAIN_ARGS[@]+"${TRAIN_ARGS[@]}"}
"$GPU_TRAIN" detect --model "$OUT/model.safetensors" --input "$OUT/later-flows.csv" \
  --format jsonl --output "$OUT/verdicts.jsonl" --incidents "$OUT/incidents.jsonl"
python3 "$HERE/score.py" --labels "$OUT/labels.csv" --flows later-flows.csv \
  --verdicts "$OUT/verdicts.jsonl" --incidents "$OUT/incidents.jsonl" \
  --title "make lab LAB_SECONDS=$SECONDS_TOTAL LAB_SEED=$SEED${TRAIN_ARGS[*]:+ LAB_TRAIN_ARGS='${TRAIN_ARGS[*]}'}" \
  --out "$OUT/report.md" --json "$OUT/report.json"
cat "$OUT/report.md"
