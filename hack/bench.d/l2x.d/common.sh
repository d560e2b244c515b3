# hack/bench.d/l2x.d/common.sh: shared by hack/bench.d/l2-idle, l2-arp and l2-stress.
# Source after setting P (namespace prefix, l2x*) and NAME (for messages). Uses the
# hack/lib/l2net.sh topology moved to 10.252.0.0/23 (nodes .11-.13, client .100) so that
# hack/bench.d/l2 and hack/interop.d/l2 (10.251.x) can run at the same time; Service IPs are
# 10.252.16.0 onwards (at most 4,096: 10.252.16.0-10.252.31.255), routed on-link in the client.
# Only namespaces $P-* are created, and l2x_cleanup removes them (also leftovers at start).
L2NET_V4=10.252
L2NET_V6=fd00:252
# shellcheck source=../../lib/l2net.sh
. "$ROOT/hack/lib/l2net.sh"
SVC_BASE=10.252.16.0
SVC_ROUTE=10.252.16.0/20
declare -A PID

die() { echo "$NAME: $*" >&2; exit 1; }

# The IPv4 address N after $SVC_BASE (0-based).
svc_ip() { python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]) + int(sys.argv[2]))' "$SVC_BASE" "$1"; }

l2x_preflight() {  # l2x_preflight TOOL...
  [ -x "$METALLB" ] || die "$METALLB missing (--bin PATH, METALLB_BIN, or swift build -c release)"
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
  local tool
  for tool in "$@"; do command -v "$tool" >/dev/null || die "$tool missing (hack/setup installs it)"; done
}

# Stops what we started (recorded PIDs), then every process left in our namespaces (only
# keepalived's VRRP children and tcpdumps we started live there), and deletes the namespaces.
l2x_cleanup() {
  local n
  for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null; done
  l2net_cleanup
}

l2x_net_up() {
  l2net_up
  inns client ip route add "$SVC_ROUTE" dev eth0
}

members_args() { local n; for n in "${NODES[@]}"; do printf -- '--member\n%s\n' "$n=${IP4[$n]}:7946"; done; }

# start_speaker NODE ARGS...: `metallb diagnose l2` in the node, PID[NODE] its pid (ip netns
# exec execs it, so $! is the speaker itself), log and status file in $WORK.
start_speaker() {
  local n=$1; shift
  local members; mapfile -t members < <(members_args)
  ip netns exec "$P-$n" "$METALLB" diagnose l2 --node "$n" "${members[@]}" --secret-file "$WORK/key" --interface eth0 \
    --status-file "$WORK/$n.json" "$@" >>"$WORK/$n.log" 2>&1 &
  PID[$n]=$!
}

# stop_speaker NODE: SIGTERM (graceful: it sends leave messages), wait up to 5 s, then SIGKILL.
stop_speaker() {
  local n=$1 pid=${PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset "PID[$n]"
}

# JSON field of a speaker's status file: status NODE alive|owned-count
status_of() {
  python3 - "$WORK/$1.json" "$2" <<'PY' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
print(",".join(d["alive"]) if sys.argv[2] == "alive" else len(d["owned"]))
PY
}

# wait_status NODE FIELD VALUE SECONDS
wait_status() {
  local deadline=$(( $(date +%s) + $4 ))
  while [ "$(date +%s)" -le "$deadline" ]; do
    [ "$(status_of "$1" "$2")" = "$3" ] && return 0
    sleep 0.1
  done
  return 1
}
