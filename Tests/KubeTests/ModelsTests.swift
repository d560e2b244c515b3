import Foundation
import Testing
@testable import Kube

private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    try KubeJSON.decoder.decode(T.self, from: Data(json.utf8))
}

/// Encodes and decodes `value` again.
private func roundTrip<T: Codable>(_ value: T) throws -> T {
    try KubeJSON.decoder.decode(T.self, from: KubeJSON.encoder.encode(value))
}

@Suite struct ModelsTests {
    @Test func service() throws {
        let json = #"""
            {
              "kind": "Service",
              "apiVersion": "v1",
              "metadata": {
                "name": "nginx",
                "namespace": "default",
                "uid": "5b6f1c3e-2d0a-4c8e-9a57-1f2b3c4d5e6f",
                "resourceVersion": "12345",
                "creationTimestamp": "2021-03-04T10:11:12Z",
                "labels": {"app": "nginx"},
                "annotations": {"metallb.universe.tf/address-pool": "production"},
                "managedFields": [
                  {"manager": "kubectl-create", "operation": "Update", "apiVersion": "v1", "time": "2021-03-04T10:11:12Z",
                   "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:type": {}}}}
                ]
              },
              "spec": {
                "ports": [
                  {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 31080},
                  {"name": "https", "protocol": "TCP", "port": 443, "targetPort": "https", "nodePort": 31443, "appProtocol": "https"}
                ],
                "selector": {"app": "nginx"},
                "clusterIP": "10.96.12.34",
                "clusterIPs": ["10.96.12.34"],
                "type": "LoadBalancer",
                "sessionAffinity": "None",
                "loadBalancerIP": "192.168.10.240",
                "externalTrafficPolicy": "Local",
                "healthCheckNodePort": 32000,
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack"
              },
              "status": {
                "loadBalancer": {
                  "ingress": [{"ip": "192.168.10.240"}]
                }
              }
            }
            """#
        let svc = try decode(Service.self, json)
        #expect(svc.name == "nginx")
        #expect(svc.key == ObjectKey(namespace: "default", name: "nginx"))
        #expect(svc.metadata.annotations?["metallb.universe.tf/address-pool"] == "production")
        let spec = try #require(svc.spec)
        #expect(spec.type == "LoadBalancer")
        #expect(spec.ports?.count == 2)
        #expect(spec.ports?[0].port == 80)
        #expect(spec.ports?[0].protocol == "TCP")
        #expect(spec.ports?[0].targetPort == .int(8080))
        #expect(spec.ports?[1].targetPort == .string("https"))
        #expect(spec.ports?[1].appProtocol == "https")
        #expect(spec.externalTrafficPolicy == "Local")
        #expect(spec.healthCheckNodePort == 32000)
        #expect(spec.loadBalancerIP == "192.168.10.240")
        #expect(spec.ipFamilies == ["IPv4"])
        #expect(svc.status?.loadBalancer?.ingress?.first?.ip == "192.168.10.240")
        #expect(svc.status?.loadBalancer?.ingress?.first?.hostname == nil)
        // managedFields are read (manager names) but never written back.
        #expect(svc.metadata.managedFields?.first?.manager == "kubectl-create")
        let encoded = String(decoding: try KubeJSON.encoder.encode(svc), as: UTF8.self)
        #expect(!encoded.contains("managedFields"))
        var withoutManaged = svc
        withoutManaged.metadata.managedFields = nil
        #expect(try roundTrip(svc) == withoutManaged)
    }

    @Test func serviceStatusEncodesOnlySetFields() throws {
        let status = ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: [
            LoadBalancerIngress(ip: "10.0.0.1", ports: [PortStatus(port: 80, protocol: "TCP")]),
        ]))
        let text = String(decoding: try KubeJSON.encoder.encode(status), as: UTF8.self)
        #expect(text == #"{"loadBalancer":{"ingress":[{"ip":"10.0.0.1","ports":[{"port":80,"protocol":"TCP"}]}]}}"#)
        #expect(try roundTrip(status) == status)
    }

    @Test func pod() throws {
        let json = #"""
            {
              "kind": "Pod",
              "apiVersion": "v1",
              "metadata": {
                "name": "speaker-x7k2p",
                "generateName": "speaker-",
                "namespace": "metallb-system",
                "uid": "0f8e2a44-7c1b-4f6e-9d3a-2b1c0d9e8f7a",
                "resourceVersion": "4711",
                "creationTimestamp": "2021-03-04T10:11:12Z",
                "labels": {"app": "metallb", "component": "speaker", "pod-template-generation": "1"},
                "ownerReferences": [
                  {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "speaker",
                   "uid": "aa8e2a44-7c1b-4f6e-9d3a-2b1c0d9e8f7a", "controller": true, "blockOwnerDeletion": true}
                ]
              },
              "spec": {
                "volumes": [
                  {"name": "memberlist", "secret": {"secretName": "memberlist", "defaultMode": 420}},
                  {"name": "speaker-token-abcde", "secret": {"secretName": "speaker-token-abcde", "defaultMode": 420}}
                ],
                "containers": [
                  {
                    "name": "speaker",
                    "image": "quay.io/metallb/speaker:v0.13.10",
                    "args": ["--port=7472", "--log-level=info"],
                    "ports": [
                      {"name": "monitoring", "hostPort": 7472, "containerPort": 7472, "protocol": "TCP"},
                      {"name": "memberlist-tcp", "hostPort": 7946, "containerPort": 7946, "protocol": "TCP"}
                    ],
                    "env": [
                      {"name": "METALLB_NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
                      {"name": "METALLB_ML_BIND_PORT", "value": "7946"}
                    ],
                    "resources": {},
                    "volumeMounts": [
                      {"name": "speaker-token-abcde", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
                    ],
                    "livenessProbe": {
                      "httpGet": {"path": "/metrics", "port": "monitoring", "scheme": "HTTP"},
                      "initialDelaySeconds": 10, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3
                    },
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                    "securityContext": {"capabilities": {"add": ["NET_RAW"], "drop": ["ALL"]}, "readOnlyRootFilesystem": true}
                  }
                ],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 2,
                "dnsPolicy": "ClusterFirst",
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "serviceAccountName": "speaker",
                "serviceAccount": "speaker",
                "nodeName": "worker-1",
                "hostNetwork": true,
                "securityContext": {},
                "affinity": {
                  "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["worker-1"]}]}
                  ]}}
                },
                "schedulerName": "default-scheduler",
                "tolerations": [
                  {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},
                  {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
                  {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                ],
                "priority": 0,
                "enableServiceLinks": true,
                "preemptionPolicy": "PreemptLowerPriority"
              },
              "status": {
                "phase": "Running",
                "conditions": [
                  {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2021-03-04T10:11:12Z"},
                  {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2021-03-04T10:11:20Z"},
                  {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2021-03-04T10:11:20Z"},
                  {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2021-03-04T10:11:12Z"}
                ],
                "hostIP": "172.18.0.3",
                "podIP": "172.18.0.3",
                "podIPs": [{"ip": "172.18.0.3"}],
                "startTime": "2021-03-04T10:11:12Z",
                "containerStatuses": [
                  {
                    "name": "speaker",
                    "state": {"running": {"startedAt": "2021-03-04T10:11:15Z"}},
                    "lastState": {},
                    "ready": true,
                    "restartCount": 0,
                    "image": "quay.io/metallb/speaker:v0.13.10",
                    "imageID": "quay.io/metallb/speaker@sha256:0123456789abcdef",
                    "containerID": "containerd://fedcba9876543210",
                    "started": true
                  }
                ],
                "qosClass": "BestEffort"
              }
            }
            """#
        let pod = try decode(Pod.self, json)
        #expect(pod.metadata.controller?.kind == "DaemonSet")
        let spec = try #require(pod.spec)
        #expect(spec.nodeName == "worker-1")
        #expect(spec.hostNetwork == true)
        #expect(spec.terminationGracePeriodSeconds == 2)
        #expect(spec.tolerations?.count == 3)
        #expect(spec.tolerations?[2].tolerationSeconds == 300)
        #expect(spec.tolerations?[0].operator == "Exists")
        #expect(spec.volumes?.first?.secret?["secretName"] == "memberlist")
        #expect(spec.affinity?["nodeAffinity"] != nil)
        let container = try #require(spec.containers.first)
        #expect(container.name == "speaker")
        #expect(container.ports?.map(\.containerPort) == [7472, 7946])
        #expect(container.env?[0].valueFrom?["fieldRef"]?["fieldPath"] == "spec.nodeName")
        #expect(container.env?[1].value == "7946")
        #expect(container.volumeMounts?.first?.readOnly == true)
        #expect(container.livenessProbe?["httpGet"]?["port"] == "monitoring")

        let status = try #require(pod.status)
        #expect(status.phase == "Running")
        #expect(status.conditions?.first { $0.type == "Ready" }?.status == "True")
        #expect(status.conditions?.first?.lastProbeTime == nil)
        #expect(status.podIPs?.compactMap(\.ip) == ["172.18.0.3"])
        #expect(status.containerStatuses?.first?.ready == true)
        #expect(status.containerStatuses?.first?.restartCount == 0)
        #expect(status.containerStatuses?.first?.state?["running"]?["startedAt"] == "2021-03-04T10:11:15Z")
        #expect(try roundTrip(pod) == pod)
    }

    @Test func node() throws {
        let json = #"""
            {
              "kind": "Node",
              "apiVersion": "v1",
              "metadata": {
                "name": "worker-1",
                "uid": "3c2b1a00-1111-2222-3333-444455556666",
                "resourceVersion": "9001",
                "creationTimestamp": "2021-03-01T08:00:00Z",
                "labels": {
                  "beta.kubernetes.io/arch": "amd64",
                  "kubernetes.io/hostname": "worker-1",
                  "kubernetes.io/os": "linux"
                },
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"}
              },
              "spec": {
                "podCIDR": "10.244.1.0/24",
                "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"],
                "providerID": "kind://docker/kind/worker-1",
                "taints": [
                  {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2021-03-04T10:00:00Z"},
                  {"key": "example.com/dedicated", "value": "lb", "effect": "NoSchedule"}
                ]
              },
              "status": {
                "capacity": {"cpu": "2", "ephemeral-storage": "61255492Ki", "memory": "4030196Ki", "pods": "110"},
                "allocatable": {"cpu": "2", "ephemeral-storage": "61255492Ki", "memory": "4030196Ki", "pods": "110"},
                "conditions": [
                  {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": "2021-03-04T10:10:00Z",
                   "lastTransitionTime": "2021-03-01T08:00:00Z", "reason": "KubeletHasSufficientMemory",
                   "message": "kubelet has sufficient memory available"},
                  {"type": "Ready", "status": "True", "lastHeartbeatTime": "2021-03-04T10:10:00Z",
                   "lastTransitionTime": "2021-03-01T08:00:30Z", "reason": "KubeletReady",
                   "message": "kubelet is posting ready status"}
                ],
                "addresses": [
                  {"type": "InternalIP", "address": "172.18.0.3"},
                  {"type": "InternalIP", "address": "fc00:f853:ccd:e793::3"},
                  {"type": "Hostname", "address": "worker-1"}
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                  "machineID": "abc", "systemUUID": "def", "bootID": "ghi",
                  "kernelVersion": "5.10.0", "osImage": "Ubuntu 20.10", "containerRuntimeVersion": "containerd://1.4.0",
                  "kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2", "operatingSystem": "linux", "architecture": "amd64"
                },
                "images": [{"names": ["k8s.gcr.io/pause:3.3"], "sizeBytes": 299513}]
              }
            }
            """#
        let node = try decode(Node.self, json)
        #expect(node.name == "worker-1")
        #expect(node.namespace == nil)
        #expect(node.key.description == "worker-1")
        #expect(node.spec?.podCIDRs == ["10.244.1.0/24", "fd00:10:244:1::/64"])
        #expect(node.spec?.taints?.first?.effect == "NoExecute")
        #expect(node.spec?.taints?.first?.value == nil)
        #expect(node.spec?.taints?[1].value == "lb")
        let status = try #require(node.status)
        #expect(status.conditions?.first { $0.type == "Ready" }?.status == "True")
        #expect(status.addresses?.filter { $0.type == "InternalIP" }.map(\.address) == ["172.18.0.3", "fc00:f853:ccd:e793::3"])
        #expect(status.capacity?["pods"] == "110")
        #expect(status.nodeInfo?["kubeletVersion"] == "v1.20.2")
        #expect(try roundTrip(node) == node)
    }

    @Test func deployment() throws {
        let json = #"""
            {
              "kind": "Deployment",
              "apiVersion": "apps/v1",
              "metadata": {
                "name": "controller",
                "namespace": "metallb-system",
                "uid": "9a8b7c6d-0000-1111-2222-333344445555",
                "resourceVersion": "777",
                "generation": 3,
                "creationTimestamp": "2021-03-04T10:00:00Z",
                "labels": {"app": "metallb", "component": "controller"},
                "annotations": {"deployment.kubernetes.io/revision": "2"}
              },
              "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "metallb", "component": "controller"}},
                "template": {
                  "metadata": {
                    "creationTimestamp": null,
                    "labels": {"app": "metallb", "component": "controller"},
                    "annotations": {"prometheus.io/port": "7472", "prometheus.io/scrape": "true"}
                  },
                  "spec": {
                    "containers": [
                      {
                        "name": "controller",
                        "image": "quay.io/metallb/controller:v0.13.10",
                        "args": ["--port=7472"],
                        "ports": [{"name": "monitoring", "containerPort": 7472, "protocol": "TCP"}],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "IfNotPresent"
                      }
                    ],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 0,
                    "dnsPolicy": "ClusterFirst",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "serviceAccountName": "controller",
                    "serviceAccount": "controller",
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65534, "fsGroup": 65534},
                    "schedulerName": "default-scheduler"
                  }
                },
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}},
                "revisionHistoryLimit": 3,
                "progressDeadlineSeconds": 600
              },
              "status": {
                "observedGeneration": 3,
                "replicas": 1,
                "updatedReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "conditions": [
                  {"type": "Available", "status": "True", "lastUpdateTime": "2021-03-04T10:01:00Z",
                   "lastTransitionTime": "2021-03-04T10:01:00Z", "reason": "MinimumReplicasAvailable",
                   "message": "Deployment has minimum availability."},
                  {"type": "Progressing", "status": "True", "lastUpdateTime": "2021-03-04T10:01:00Z",
                   "lastTransitionTime": "2021-03-04T10:00:00Z", "reason": "NewReplicaSetAvailable",
                   "message": "ReplicaSet \"controller-65db86ddc6\" has successfully progressed."}
                ]
              }
            }
            """#
        let deployment = try decode(Deployment.self, json)
        #expect(deployment.metadata.generation == 3)
        let spec = try #require(deployment.spec)
        #expect(spec.replicas == 1)
        #expect(spec.selector?.matchLabels?["component"] == "controller")
        #expect(spec.template.metadata?.labels?["app"] == "metallb")
        #expect(spec.template.metadata?.creationTimestamp == nil)
        #expect(spec.template.spec?.containers.first?.image == "quay.io/metallb/controller:v0.13.10")
        #expect(spec.template.spec?.securityContext?["runAsUser"] == 65534)
        #expect(spec.strategy?.rollingUpdate?.maxUnavailable == .string("25%"))
        #expect(spec.strategy?.rollingUpdate?.maxSurge == .int(1))
        let status = try #require(deployment.status)
        #expect(status.observedGeneration == 3)
        #expect(status.availableReplicas == 1)
        #expect(status.unavailableReplicas == nil)
        #expect(status.conditions?.first { $0.type == "Available" }?.status == "True")
        #expect(try roundTrip(deployment) == deployment)
    }

    @Test func endpointSliceV1beta1() throws {
        // As served by Kubernetes 1.20, which has no discovery.k8s.io/v1.
        let json = #"""
            {
              "kind": "EndpointSlice",
              "apiVersion": "discovery.k8s.io/v1beta1",
              "metadata": {
                "name": "nginx-8xkzq",
                "generateName": "nginx-",
                "namespace": "default",
                "uid": "11112222-3333-4444-5555-666677778888",
                "resourceVersion": "5150",
                "generation": 2,
                "creationTimestamp": "2021-03-04T10:11:12Z",
                "labels": {
                  "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                  "kubernetes.io/service-name": "nginx"
                },
                "ownerReferences": [
                  {"apiVersion": "v1", "kind": "Service", "name": "nginx",
                   "uid": "5b6f1c3e-2d0a-4c8e-9a57-1f2b3c4d5e6f", "controller": true, "blockOwnerDeletion": true}
                ]
              },
              "addressType": "IPv4",
              "endpoints": [
                {
                  "addresses": ["10.244.1.5"],
                  "conditions": {"ready": true},
                  "targetRef": {"kind": "Pod", "namespace": "default", "name": "nginx-6799fc88d8-abcde",
                                "uid": "aaaabbbb-cccc-dddd-eeee-ffff00001111", "resourceVersion": "5100"},
                  "topology": {"kubernetes.io/hostname": "worker-1"}
                },
                {
                  "addresses": ["10.244.2.7"],
                  "conditions": {"ready": false},
                  "targetRef": {"kind": "Pod", "namespace": "default", "name": "nginx-6799fc88d8-fghij",
                                "uid": "aaaabbbb-cccc-dddd-eeee-ffff00002222", "resourceVersion": "5149"},
                  "topology": {"kubernetes.io/hostname": "worker-2"}
                }
              ],
              "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]
            }
            """#
        let slice = try decode(EndpointSlice.self, json)
        #expect(slice.apiVersion == "discovery.k8s.io/v1beta1")
        #expect(slice.addressType == "IPv4")
        #expect(slice.metadata.labels?["kubernetes.io/service-name"] == "nginx")
        #expect(slice.endpoints.count == 2)
        #expect(slice.endpoints.map(\.nodeName) == ["worker-1", "worker-2"])
        #expect(slice.endpoints[0].rawNodeName == nil)
        #expect(slice.endpoints[0].conditions?.ready == true)
        #expect(slice.endpoints[1].conditions?.ready == false)
        #expect(slice.endpoints[0].targetRef?.name == "nginx-6799fc88d8-abcde")
        #expect(slice.ports?.first?.port == 8080)
        #expect(slice.ports?.first?.protocol == "TCP")
        let again = try roundTrip(slice)
        #expect(again == slice)
        #expect(again.endpoints[0].rawNodeName == nil)
        #expect(EndpointSlice.resourceType.withVersion("v1beta1").path(namespace: "default")
            == "/apis/discovery.k8s.io/v1beta1/namespaces/default/endpointslices")
    }

    @Test func endpointSliceV1() throws {
        let json = #"""
            {
              "kind": "EndpointSlice",
              "apiVersion": "discovery.k8s.io/v1",
              "metadata": {
                "name": "nginx-8xkzq",
                "generateName": "nginx-",
                "namespace": "default",
                "uid": "11112222-3333-4444-5555-666677778888",
                "resourceVersion": "5150",
                "generation": 2,
                "creationTimestamp": "2023-05-06T10:11:12Z",
                "labels": {
                  "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                  "kubernetes.io/service-name": "nginx"
                }
              },
              "addressType": "IPv6",
              "endpoints": [
                {
                  "addresses": ["fd00:10:244:1::5"],
                  "conditions": {"ready": true, "serving": true, "terminating": false},
                  "targetRef": {"kind": "Pod", "namespace": "default", "name": "nginx-6799fc88d8-abcde",
                                "uid": "aaaabbbb-cccc-dddd-eeee-ffff00001111"},
                  "nodeName": "worker-1",
                  "zone": "zone-a"
                },
                {
                  "addresses": ["fd00:10:244:2::7"],
                  "conditions": {"ready": false, "serving": true, "terminating": true},
                  "targetRef": {"kind": "Pod", "namespace": "default", "name": "nginx-6799fc88d8-fghij",
                                "uid": "aaaabbbb-cccc-dddd-eeee-ffff00002222"},
                  "nodeName": "worker-2"
                }
              ],
              "ports": [{"name": "http", "protocol": "TCP", "port": 8080, "appProtocol": "http"}]
            }
            """#
        let slice = try decode(EndpointSlice.self, json)
        #expect(slice.addressType == "IPv6")
        #expect(slice.endpoints.map(\.nodeName) == ["worker-1", "worker-2"])
        #expect(slice.endpoints[0].rawNodeName == "worker-1")
        #expect(slice.endpoints[0].topology == nil)
        #expect(slice.endpoints[0].zone == "zone-a")
        #expect(slice.endpoints[1].conditions == EndpointConditions(ready: false, serving: true, terminating: true))
        #expect(slice.ports?.first?.appProtocol == "http")
        #expect(try roundTrip(slice) == slice)

        let encoded = try JSONValue(encoding: slice)
        #expect(encoded["endpoints"]?.arrayValue?.first?["nodeName"] == "worker-1")
    }

    @Test func endpointSliceWithNullEndpoints() throws {
        let json = #"""
            {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1beta1",
             "metadata": {"name": "empty-abcde", "namespace": "default"},
             "addressType": "IPv4", "endpoints": null, "ports": null}
            """#
        let slice = try decode(EndpointSlice.self, json)
        #expect(slice.endpoints.isEmpty)
        #expect(slice.ports == nil)
    }

    @Test func lease() throws {
        let json = #"""
            {
              "kind": "Lease",
              "apiVersion": "coordination.k8s.io/v1",
              "metadata": {
                "name": "metallb-controller",
                "namespace": "metallb-system",
                "uid": "deadbeef-0000-1111-2222-333344445555",
                "resourceVersion": "31337",
                "creationTimestamp": "2021-03-04T10:00:00Z"
              },
              "spec": {
                "holderIdentity": "controller-65db86ddc6-xyz12_0f8e2a44",
                "leaseDurationSeconds": 15,
                "acquireTime": "2021-03-04T10:00:00.123456Z",
                "renewTime": "2021-03-04T10:12:34.654321Z",
                "leaseTransitions": 4
              }
            }
            """#
        let lease = try decode(Lease.self, json)
        #expect(lease.key == ObjectKey("metallb-system/metallb-controller"))
        let spec = try #require(lease.spec)
        #expect(spec.holderIdentity == "controller-65db86ddc6-xyz12_0f8e2a44")
        #expect(spec.leaseDurationSeconds == 15)
        #expect(spec.acquireTime == "2021-03-04T10:00:00.123456Z")
        #expect(spec.renewTime == "2021-03-04T10:12:34.654321Z")
        #expect(spec.leaseTransitions == 4)
        #expect(try roundTrip(lease) == lease)
    }

    @Test func customResourceDefinition() throws {
        let json = #"""
            {
              "kind": "CustomResourceDefinition",
              "apiVersion": "apiextensions.k8s.io/v1",
              "metadata": {
                "name": "ipaddresspools.metallb.io",
                "uid": "c0ffee00-1111-2222-3333-444455556666",
                "resourceVersion": "2048",
                "generation": 1,
                "creationTimestamp": "2021-03-04T10:00:00Z",
                "annotations": {"controller-gen.kubebuilder.io/version": "v0.11.1"}
              },
              "spec": {
                "group": "metallb.io",
                "names": {"plural": "ipaddresspools", "singular": "ipaddresspool", "kind": "IPAddressPool", "listKind": "IPAddressPoolList"},
                "scope": "Namespaced",
                "versions": [
                  {
                    "name": "v1beta1",
                    "served": true,
                    "storage": true,
                    "schema": {
                      "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                          "spec": {
                            "type": "object",
                            "required": ["addresses"],
                            "properties": {
                              "addresses": {"type": "array", "items": {"type": "string"}},
                              "autoAssign": {"type": "boolean", "default": true},
                              "avoidBuggyIPs": {"type": "boolean", "default": false}
                            }
                          },
                          "status": {"type": "object"}
                        }
                      }
                    },
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                      {"name": "Auto Assign", "type": "boolean", "jsonPath": ".spec.autoAssign"}
                    ]
                  }
                ],
                "conversion": {"strategy": "None"}
              },
              "status": {
                "conditions": [
                  {"type": "NamesAccepted", "status": "True", "lastTransitionTime": "2021-03-04T10:00:00Z",
                   "reason": "NoConflicts", "message": "no conflicts found"},
                  {"type": "Established", "status": "True", "lastTransitionTime": "2021-03-04T10:00:00Z",
                   "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
                ],
                "acceptedNames": {"plural": "ipaddresspools", "singular": "ipaddresspool", "kind": "IPAddressPool", "listKind": "IPAddressPoolList"},
                "storedVersions": ["v1beta1"]
              }
            }
            """#
        var crd = try decode(CustomResourceDefinition.self, json)
        #expect(crd.spec.group == "metallb.io")
        #expect(crd.spec.names.kind == "IPAddressPool")
        #expect(crd.spec.scope == "Namespaced")
        #expect(crd.spec.versions.map(\.name) == ["v1beta1"])
        #expect(crd.spec.versions[0].served && crd.spec.versions[0].storage)
        #expect(crd.spec.versions[0].schema?["openAPIV3Schema"]?["properties"]?["spec"]?["required"] == ["addresses"])
        #expect(crd.spec.conversion?["strategy"] == "None")
        #expect(crd.status?.acceptedNames?.plural == "ipaddresspools")
        #expect(crd.status?.storedVersions == ["v1beta1"])
        #expect(crd.isEstablished)
        #expect(try roundTrip(crd) == crd)

        crd.status?.conditions?.removeAll { $0.type == "Established" }
        #expect(!crd.isEstablished)
        crd.status = nil
        #expect(!crd.isEstablished)
    }

    @Test func intOrString() throws {
        #expect(try decode(IntOrString.self, "8080") == .int(8080))
        #expect(try decode(IntOrString.self, #""http""#) == .string("http"))
        #expect(try decode(IntOrString.self, #""25%""#) == .string("25%"))
        #expect(try decode([IntOrString].self, #"[1, "2"]"#) == [.int(1), .string("2")])
        #expect(throws: (any Error).self) { try decode(IntOrString.self, "true") }

        #expect(String(decoding: try KubeJSON.encoder.encode(IntOrString.int(8080)), as: UTF8.self) == "8080")
        #expect(String(decoding: try KubeJSON.encoder.encode(IntOrString.string("http")), as: UTF8.self) == #""http""#)
        let literal: IntOrString = 443
        let named: IntOrString = "https"
        #expect(literal.intValue == 443 && literal.stringValue == nil)
        #expect(named.stringValue == "https" && named.intValue == nil)
        #expect(literal.description == "443")
        #expect(try roundTrip(named) == named)
    }

    @Test func resourceTypes() {
        #expect(Service.resourceType.path(namespace: "default", name: "nginx") == "/api/v1/namespaces/default/services/nginx")
        #expect(Node.resourceType.path(namespace: "ignored") == "/api/v1/nodes")
        #expect(Deployment.resourceType.apiVersion == "apps/v1")
        #expect(ClusterRoleBinding.resourceType.apiVersion == "rbac.authorization.k8s.io/v1")
        #expect(!ClusterRoleBinding.resourceType.namespaced)
        #expect(Lease.resourceType.path(namespace: "metallb-system", name: "l")
            == "/apis/coordination.k8s.io/v1/namespaces/metallb-system/leases/l")
        #expect(CustomResourceDefinition.resourceType.path(namespace: nil)
            == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        #expect(ValidatingWebhookConfiguration.resourceType.group == "admissionregistration.k8s.io")
        #expect(EndpointSlice.resourceType.apiVersion == "discovery.k8s.io/v1")

        var sa = ServiceAccount(metadata: ObjectMeta(name: "speaker", namespace: "metallb-system"))
        sa.setTypeMeta()
        #expect(sa.apiVersion == "v1" && sa.kind == "ServiceAccount")
        let ref = ObjectReference(to: sa)
        #expect(ref.kind == "ServiceAccount" && ref.namespace == "metallb-system" && ref.name == "speaker")
    }
}
