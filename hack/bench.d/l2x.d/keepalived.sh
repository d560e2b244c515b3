# hack/bench.d/l2x.d/keepalived.sh: keepalived (VRRPv3) on the l2x nodes holding $IPS
# addresses from $SVC_BASE; source after common.sh. PID[NODE] is the parent (-n: no daemon);
# its VRRP child's pid is in $WORK/ka-NODE.vrrp.pid.
# No -D (detailed log): with 1,000 addresses it logs every gratuitous ARP, and that slowed the
# VRRP child so much (one advert in 25 s) that all three nodes became master.
start_keepalived() {  # start_keepalived NODE ADVERT
  local n=$1 advert=$2 prio
  case $n in n1) prio=150 ;; n2) prio=100 ;; *) prio=50 ;; esac
  {
    cat <<EOF
global_defs {
  router_id $n
  vrrp_version 3
  enable_script_security
}
vrrp_instance idle {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority $prio
  advert_int $advert
  virtual_ipaddress {
EOF
    python3 -c 'import ipaddress, sys
b = ipaddress.ip_address(sys.argv[1])
for i in range(int(sys.argv[2])): print(f"    {b + i}/32 dev eth0")' "$SVC_BASE" "$IPS"
    echo "  }"
    echo "}"
  } >"$WORK/ka-$n.conf"
  rm -f "$WORK/ka-$n.pid" "$WORK/ka-$n.vrrp.pid"
  ip netns exec "$P-$n" keepalived -n -l -P -f "$WORK/ka-$n.conf" -p "$WORK/ka-$n.pid" -r "$WORK/ka-$n.vrrp.pid" \
    >>"$WORK/ka-$n.log" 2>&1 &
  PID[$n]=$!
}
ka_child() {  # the VRRP child's pid (from its pid file)
  local pid
  for _ in $(seq 1 100); do
    pid=$(cat "$WORK/ka-$1.vrrp.pid" 2>/dev/null)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
    sleep 0.1
  done
  return 1
}
addresses_on() { inns "$1" ip -4 -o addr show dev eth0 | wc -l; }
stop_keepalived() {
  local n
  for n in "${NODES[@]}"; do [ -n "${PID[$n]:-}" ] && kill -TERM "${PID[$n]}" 2>/dev/null; done
  for n in "${NODES[@]}"; do
    [ -n "${PID[$n]:-}" ] || continue
    for _ in $(seq 1 100); do kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${PID[$n]}" 2>/dev/null
    wait "${PID[$n]}" 2>/dev/null
    unset "PID[$n]"
  done
  # Its VRRP child must be gone too (it is in our namespace; nothing else runs there).
  for n in "${NODES[@]}"; do ip netns pids "$P-$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null; done
}

