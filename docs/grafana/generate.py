#!/usr/bin/env python3
"""Writes docs/grafana/swift-metallb.json, the Grafana dashboard for swift-metallb's metrics.

Run from anywhere: python3 docs/grafana/generate.py. The dashboard is generated rather than
edited by hand so that its panels stay a readable list here; SpeakerTests'
GrafanaDashboardTests checks that every metric it queries is one the code exports.
"""
import json
import os

DS = {"type": "prometheus", "uid": "${datasource}"}


def target(expr, legend):
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": "A"}


def panel(pid, title, description, targets, x, y, w=12, h=8, kind="timeseries", unit="short", stack=False):
    p = {
        "id": pid, "type": kind, "title": title, "description": description, "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
    }
    if kind == "timeseries":
        p["fieldConfig"]["defaults"]["custom"] = {"stacking": {"mode": "normal" if stack else "none"}}
    return p


def row(pid, title, y):
    return {"id": pid, "type": "row", "title": title, "collapsed": False, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}


panels = []
y = 0
panels.append(row(1, "Installation", y)); y += 1
panels.append(panel(2, "Configuration loaded", "1 when the role runs on a valid configuration (metallb_k8s_client_config_loaded_bool); stale: the last change was invalid and the previous configuration still runs.",
                    [target('min by (pod) (metallb_k8s_client_config_loaded_bool)', "{{pod}} loaded"),
                     target('max by (pod) (metallb_k8s_client_config_stale_bool)', "{{pod}} stale")], 0, y, kind="stat"))
panels.append(panel(3, "Pool addresses in use", "Addresses of each IPAddressPool held by Services, and the pool's size (controller).",
                    [target('sum by (pool) (metallb_allocator_addresses_in_use_total)', "{{pool}} in use"),
                     target('sum by (pool) (metallb_allocator_addresses_total)', "{{pool}} size")], 12, y)); y += 8

panels.append(row(10, "Layer 2", y)); y += 1
panels.append(panel(11, "Service IPs announced, by node", "Service IPs each node announces (metallb_speaker_announced), by protocol.",
                    [target('sum by (node, protocol) (metallb_speaker_announced)', "{{node}} {{protocol}}")], 0, y, stack=True))
panels.append(panel(12, "ARP/NDP requests and answers", "Requests received for owned IPs, replies sent and gratuitous announcements, per second, by node.",
                    [target('sum by (pod) (rate(metallb_layer2_requests_received[5m]))', "{{pod}} requests"),
                     target('sum by (pod) (rate(metallb_layer2_responses_sent[5m]))', "{{pod}} replies"),
                     target('sum by (pod) (rate(metallb_layer2_gratuitous_sent[5m]))', "{{pod}} gratuitous")], 12, y, unit="reqps")); y += 8
panels.append(panel(13, "Membership: speakers alive", "Speakers in the member list and those each node considers alive; a node that sees fewer than the others is cut off.",
                    [target('min by (pod) (metallb_speaker_membership_members_alive)', "{{pod}} alive"),
                     target('max(metallb_speaker_membership_members)', "members")], 0, y))
panels.append(panel(14, "Membership: members lost, by reason", "Members that left the alive set per minute; timeout is a suspicion (a silent peer), left a clean exit.",
                    [target('sum by (reason) (increase(metallb_speaker_membership_removals_total[1m]))', "{{reason}}")], 12, y)); y += 8
panels.append(panel(15, "Takeovers and hand-backs", "Service IPs taken over from a speaker that died or left, and IPs handed back to one that came (back): claimed on the wire, or at the deadline.",
                    [target('sum(increase(metallb_speaker_layer2_takeovers_total[5m]))', "takeovers"),
                     target('sum by (result) (increase(metallb_speaker_layer2_handbacks_total[5m]))', "hand-backs {{result}}")], 0, y))
panels.append(panel(16, "Membership datagrams dropped, by reason", "Heartbeats refused: unknownSource and sourceOverBudget are floods or misconfigured bind addresses, badMAC a wrong key.",
                    [target('sum by (reason) (rate(metallb_speaker_membership_dropped_total[5m]))', "{{reason}}")], 12, y, unit="pps")); y += 8
panels.append(panel(17, "Membership thread scheduling", "What the kernel granted the membership threads (SCHED_FIFO when a real-time budget exists, else nice -10).",
                    [target('max by (pod, policy, priority) (metallb_speaker_membership_thread_info)', "{{pod}} {{policy}} {{priority}}")], 0, y, kind="table"))
panels.append(panel(18, "Membership traffic", "Heartbeats sent and received per second, and send errors.",
                    [target('sum by (pod) (rate(metallb_speaker_membership_packets_sent_total[5m]))', "{{pod}} sent"),
                     target('sum by (pod) (rate(metallb_speaker_membership_packets_received_total[5m]))', "{{pod}} received"),
                     target('sum by (pod) (rate(metallb_speaker_membership_send_errors_total[5m]))', "{{pod}} send errors")], 12, y, unit="pps")); y += 8

panels.append(row(20, "BGP", y)); y += 1
panels.append(panel(21, "Sessions up", "1 per Established session, by speaker pod and peer address.",
                    [target('max by (pod, peer) (metallb_bgp_session_up)', "{{pod}} → {{peer}}")], 0, y, kind="state-timeline"))
panels.append(panel(22, "BFD sessions up", "1 per BFD session Up, for peers with a BFDProfile.",
                    [target('max by (pod, peer) (metallb_bfd_session_up)', "{{pod}} → {{peer}}")], 12, y, kind="state-timeline")); y += 8
panels.append(panel(23, "Prefixes advertised and pending", "Prefixes each peer has from each node, and those the plan gives a session that the peer does not have yet.",
                    [target('sum by (pod, peer) (metallb_bgp_announced_prefixes_total)', "{{pod}} → {{peer}} advertised"),
                     target('sum by (pod, peer) (metallb_bgp_pending_prefixes_total)', "{{pod}} → {{peer}} pending")], 0, y))
panels.append(panel(24, "UPDATE messages sent", "UPDATEs per second sent to each peer.",
                    [target('sum by (pod, peer) (rate(metallb_bgp_updates_total[5m]))', "{{pod}} → {{peer}}")], 12, y, unit="ops")); y += 8

panels.append(row(30, "Speaker process", y)); y += 1
panels.append(panel(31, "Speaker memory", "Resident set (heap, code and shared libraries) and the malloc heap: in use, and freed but still held (given back once reconciles have been quiet for 5 s).",
                    [target('max by (pod) (process_resident_memory_bytes and on (pod) metallb_speaker_membership_members)', "{{pod}} resident"),
                     target('sum by (pod) (metallb_process_heap_bytes{state="in_use"})', "{{pod}} heap in use"),
                     target('sum by (pod) (metallb_process_heap_bytes{state="free"})', "{{pod}} heap free")], 0, y, w=24, unit="bytes")); y += 8

dashboard = {
    "title": "swift-metallb",
    "uid": "swift-metallb",
    "description": "swift-metallb's controller and speakers: pools, Layer 2 announcements and failover, BGP and BFD sessions.",
    "tags": ["metallb", "swift-metallb", "load-balancer"],
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "time": {"from": "now-6h", "to": "now"},
    "refresh": "30s",
    "templating": {"list": [{
        "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
        "current": {}, "hide": 0, "refresh": 1,
    }]},
    "annotations": {"list": []},
    "panels": panels,
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "swift-metallb.json")
with open(out, "w") as f:
    json.dump(dashboard, f, indent=2, sort_keys=True)
    f.write("\n")
print(out)
