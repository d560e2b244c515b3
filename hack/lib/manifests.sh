# shellcheck shell=bash
# hack/lib/manifests.sh: hand-written manifests of our roles for hack/e2e and hack/bench, until
# the operator renders them (issue 18). Sourced; each function prints YAML on stdout.
#
#   speaker_manifests IMAGE [NAMESPACE]     ServiceAccount, a ClusterRoleBinding to cluster-admin
#                                           (test clusters only), the speaker DaemonSet
#   controller_manifests IMAGE [NAMESPACE]  the same for the controller Deployment (no webhook);
#                                           $CONTROLLER_EXTRA_ARGS (YAML flow items, e.g.
#                                           "--kube-api-qps=200, --kube-api-burst=400") appended
# The speakers' membership key is the Secret `memberlist` (key `secretkey`), which the caller
# creates (`memberlist_secret NAMESPACE` does, with a random key).

memberlist_secret() { # memberlist_secret NAMESPACE: prints the Secret with a fresh random key
  cat <<EOF
apiVersion: v1
kind: Secret
metadata: {name: memberlist, namespace: ${1:-metallb-system}}
stringData: {secretkey: "$(head -c 32 /dev/urandom | base64 -w0)"}
EOF
}

speaker_manifests() {
  local image=$1 ns=${2:-metallb-system}
  cat <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: speaker, namespace: $ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: test-metallb-speaker-$ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: speaker, namespace: $ns}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: speaker, namespace: $ns}
spec:
  selector: {matchLabels: {app: metallb, component: speaker}}
  template:
    metadata: {labels: {app: metallb, component: speaker}}
    spec:
      serviceAccountName: speaker
      hostNetwork: true
      # Above the speaker's --hand-over-timeout (2 s).
      terminationGracePeriodSeconds: 5
      containers:
      - name: speaker
        image: $image
        imagePullPolicy: Never
        args: [speaker, --log-level=${SPEAKER_LOG_LEVEL:-debug}]
        env:
        - {name: METALLB_NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: METALLB_POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: METALLB_ML_BIND_ADDR, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        ports: [{name: monitoring, containerPort: 7472}, {name: memberlist-udp, containerPort: 7946, protocol: UDP}]
        readinessProbe: {httpGet: {path: /readyz, port: 7472}, periodSeconds: 1}
        livenessProbe: {httpGet: {path: /healthz, port: 7472}, periodSeconds: 10}
        securityContext: {capabilities: {drop: [ALL], add: [NET_RAW, NET_ADMIN, SYS_NICE]}}
        volumeMounts: [{name: memberlist, mountPath: /etc/ml_secret_key, readOnly: true}]
      volumes: [{name: memberlist, secret: {secretName: memberlist, defaultMode: 0444}}]
EOF
}

controller_manifests() {
  local image=$1 ns=${2:-metallb-system}
  cat <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: controller, namespace: $ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: test-metallb-controller-$ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: controller, namespace: $ns}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: controller, namespace: $ns}
spec:
  selector: {matchLabels: {app: metallb, component: controller}}
  template:
    metadata: {labels: {app: metallb, component: controller}}
    spec:
      serviceAccountName: controller
      terminationGracePeriodSeconds: 5
      containers:
      - name: controller
        image: $image
        imagePullPolicy: Never
        args: [controller, --no-leader-elect, --log-level=info${CONTROLLER_EXTRA_ARGS:+, $CONTROLLER_EXTRA_ARGS}]
        readinessProbe: {httpGet: {path: /readyz, port: 7472}, periodSeconds: 1}
EOF
}
