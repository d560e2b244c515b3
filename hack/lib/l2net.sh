# hack/lib/l2net.sh: the Layer 2 test network shared by hack/interop.d/l2 and hack/bench.d/l2.
# Source it after setting P (the namespace prefix). A bridge in namespace $P-lan joins three
# node namespaces ($P-n1..3, eth0 10.251.0.11-13/23, fd00:251::11-13/64) and a client
# ($P-client, 10.251.0.100, fd00:251::100). Nothing else is touched: only these namespaces
# and their veths, removed by l2net_cleanup.
# Set L2NET_V4 (default 10.251) and L2NET_V6 (default fd00:251) before sourcing to use another
# /23 and /64, so that two users of this file can run at the same time.
L2NET_V4=${L2NET_V4:-10.251}
L2NET_V6=${L2NET_V6:-fd00:251}
NODES=(n1 n2 n3)
declare -A IP4=([n1]=$L2NET_V4.0.11 [n2]=$L2NET_V4.0.12 [n3]=$L2NET_V4.0.13) IP6=([n1]=$L2NET_V6::11 [n2]=$L2NET_V6::12 [n3]=$L2NET_V6::13)
declare -A MAC

inns() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

# Kills every process in our namespaces and deletes them.
l2net_cleanup() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P-"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
}

l2net_up() {
  local n
  ip netns add "$P-lan"
  inns lan ip link add br0 type bridge
  inns lan ip link set br0 up
  inns lan sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  for n in "${NODES[@]}" client; do
    ip netns add "$P-$n"
    inns "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip link add eth0 netns "$P-$n" type veth peer name "v-$n" netns "$P-lan"
    inns lan ip link set "v-$n" master br0 up
    inns "$n" ip link set lo up
    inns "$n" ip link set eth0 up
  done
  for n in "${NODES[@]}"; do
    inns "$n" ip addr add "${IP4[$n]}/23" dev eth0
    inns "$n" ip addr add "${IP6[$n]}/64" dev eth0 nodad
    MAC[$n]=$(inns "$n" cat /sys/class/net/eth0/address)
  done
  inns client ip addr add "$L2NET_V4.0.100/23" dev eth0
  inns client ip addr add "$L2NET_V6::100/64" dev eth0 nodad
}
