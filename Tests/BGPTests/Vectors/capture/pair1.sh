#!/bin/bash
# FRR (capA, AS 4200000001) <-> GoBGP (capB, AS 65002), IPv4 + IPv6 sessions
set -u
D=/tmp/bgpcap
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -f $D/frrA.pid ] && kill "$(cat $D/frrA.pid)" 2>/dev/null
  sleep 1
  ip netns del capA 2>/dev/null; ip netns del capB 2>/dev/null
}
trap cleanup EXIT
ip netns add capA; ip netns add capB
ip link add vA1 type veth peer name vB1
ip link set vA1 netns capA; ip link set vB1 netns capB
ip -n capA link set lo up; ip -n capB link set lo up
ip -n capA addr add 10.255.1.1/30 dev vA1; ip -n capB addr add 10.255.1.2/30 dev vB1
ip -n capA addr add fd00:255::1/64 dev vA1 nodad; ip -n capB addr add fd00:255::2/64 dev vB1 nodad
ip -n capA link set vA1 up; ip -n capB link set vB1 up
sleep 2
rm -f $D/pair1.pcap
ip netns exec capA tcpdump -i vA1 -U -s 0 -w $D/pair1.pcap tcp port 179 2>$D/tcpdump1.log &
PIDS+=($!)
sleep 1
mkdir -p $D/frrA.vty; chmod 777 $D/frrA.vty
ip netns exec capB gobgpd -f $D/gobgpB.toml --api-hosts 127.0.0.1:50051 --pprof-disable >$D/gobgpB.log 2>&1 &
PIDS+=($!)
sleep 2
ip netns exec capB gobgp -u 127.0.0.1 -p 50051 global rib add -a ipv4 10.255.200.0/24 origin igp community 65002:1,no-export large-community 65002:10:20,65002:11:21 med 10 aggregator 65002:10.255.1.2
ip netns exec capB gobgp -u 127.0.0.1 -p 50051 global rib add -a ipv4 10.255.201.0/24 aspath 65010,4200000099 origin egp community 65002:1 large-community 65002:10:20 med 10
ip netns exec capB gobgp -u 127.0.0.1 -p 50051 global rib add -a ipv6 fd00:255::c8:0/112 origin incomplete community 65002:6 large-community 65002:60:60
ip netns exec capA /usr/lib/frr/bgpd -d -Z -S -f $D/frrA.conf -i $D/frrA.pid --vty_socket $D/frrA.vty -P 0 -z $D/frrA.zsock
sleep 12
ip netns exec capA vtysh --vty_socket $D/frrA.vty -c "show bgp summary" > $D/pair1.summary 2>&1
ip netns exec capA vtysh --vty_socket $D/frrA.vty -c "show bgp ipv4 unicast" -c "show bgp ipv6 unicast" >> $D/pair1.summary 2>&1
ip netns exec capB gobgp -u 127.0.0.1 -p 50051 global rib -a ipv4 >> $D/pair1.summary 2>&1
ip netns exec capB gobgp -u 127.0.0.1 -p 50051 global rib -a ipv6 >> $D/pair1.summary 2>&1
# route refresh from FRR, withdrawal from GoBGP
ip netns exec capA vtysh --vty_socket $D/frrA.vty -c "clear bgp ipv4 unicast 10.255.1.2 soft in"
ip netns exec capB gobgp -u 127.0.0.1 -p 50051 global rib del -a ipv4 10.255.201.0/24
ip netns exec capB gobgp -u 127.0.0.1 -p 50051 global rib del -a ipv6 fd00:255::c8:0/112
ip netns exec capA vtysh --vty_socket $D/frrA.vty -c "conf t" -c "router bgp 4200000001" -c "address-family ipv4 unicast" -c "no network 10.255.103.7/32"
sleep 3
# administrative shutdown from FRR -> NOTIFICATION cease
ip netns exec capA vtysh --vty_socket $D/frrA.vty -c "conf t" -c "router bgp 4200000001" -c "neighbor 10.255.1.2 shutdown message bye-from-frr"
ip netns exec capB gobgp -u 127.0.0.1 -p 50051 neighbor fd00:255::1 disable
sleep 2
