#!/bin/bash
# BIRD 2 (capC) <-> FRR (capD, AS 4200000003): iBGP over IPv6 (ext. next hop), eBGP AS2-only over IPv4, eBGP over IPv6
set -u
D=/tmp/bgpcap
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -f $D/frrD.pid ] && kill "$(cat $D/frrD.pid)" 2>/dev/null
  [ -f $D/birdC.pid ] && kill "$(cat $D/birdC.pid)" 2>/dev/null
  sleep 1
  ip netns del capC 2>/dev/null; ip netns del capD 2>/dev/null
}
trap cleanup EXIT
ip netns add capC; ip netns add capD
ip link add vC1 type veth peer name vD1
ip link set vC1 netns capC; ip link set vD1 netns capD
ip -n capC link set lo up; ip -n capD link set lo up
ip -n capC addr add 10.255.2.1/30 dev vC1; ip -n capD addr add 10.255.2.2/30 dev vD1
ip -n capC addr add fd00:255::3/64 dev vC1 nodad; ip -n capC addr add fd00:255::5/64 dev vC1 nodad
ip -n capD addr add fd00:255::4/64 dev vD1 nodad
ip -n capC link set vC1 up; ip -n capD link set vD1 up
sleep 3
rm -f $D/pair2.pcap
ip netns exec capD tcpdump -i vD1 -U -s 0 -w $D/pair2.pcap tcp port 179 2>$D/tcpdump2.log &
PIDS+=($!)
sleep 1
mkdir -p $D/frrD.vty; chmod 777 $D/frrD.vty
ip netns exec capD /usr/lib/frr/bgpd -d -Z -S -f $D/frrD.conf -i $D/frrD.pid --vty_socket $D/frrD.vty -P 0 -z $D/frrD.zsock
ip netns exec capC bird -c $D/birdC.conf -s $D/birdC.ctl -P $D/birdC.pid
sleep 15
ip netns exec capD vtysh --vty_socket $D/frrD.vty -c "show bgp summary" -c "show bgp ipv4 unicast" -c "show bgp ipv6 unicast" > $D/pair2.summary 2>&1
ip netns exec capC birdc -s $D/birdC.ctl show protocols all >> $D/pair2.summary 2>&1
ip netns exec capC birdc -s $D/birdC.ctl show route all >> $D/pair2.summary 2>&1
ip netns exec capC birdc -s $D/birdC.ctl reload in ebgp6
ip netns exec capC birdc -s $D/birdC.ctl reload in ebgp4
ip netns exec capC birdc -s $D/birdC.ctl disable st4
ip netns exec capC birdc -s $D/birdC.ctl disable st6
sleep 3
ip netns exec capC birdc -s $D/birdC.ctl disable ebgp6 \"going down for test\"
ip netns exec capD vtysh --vty_socket $D/frrD.vty -c "conf t" -c "router bgp 4200000003" -c "neighbor 10.255.2.1 shutdown"
sleep 2
