#!/usr/bin/env python3
"""hack/bundle: bundle/ from one source of truth (see hack/bundle --help)."""
import argparse
import copy
import difflib
import json
import os
import re
import shutil
import sys
import tempfile

import yaml

# BUNDLE_ROOT: another tree with crds/, config/operator/, Sources/metallb/Metallb.swift and bundle/ (the self-test).
ROOT = os.environ.get("BUNDLE_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGE = "swift-metallb-operator"
CHANNEL = "alpha"
NAMESPACE = "metallb-system"
DEFAULT_IMAGE = "swift-metallb.local/metallb:dev"
ANNOTATIONS = {
    "operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
    "operators.operatorframework.io.bundle.manifests.v1": "manifests/",
    "operators.operatorframework.io.bundle.metadata.v1": "metadata/",
    "operators.operatorframework.io.bundle.package.v1": PACKAGE,
    "operators.operatorframework.io.bundle.channels.v1": CHANNEL,
    "operators.operatorframework.io.bundle.channel.default.v1": CHANNEL,
}


class Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


Dumper.add_representer(str, _str)


def dump(doc):
    return yaml.dump(doc, Dumper=Dumper, sort_keys=True, default_flow_style=False, width=1000)


def version():
    text = open(os.path.join(ROOT, "Sources/metallb/Metallb.swift")).read()
    m = re.search(r'static let version = "([^"]+)"', text)
    if not m:
        sys.exit("hack/bundle: no BuildInfo.version in Sources/metallb/Metallb.swift")
    return m.group(1)


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def crds():
    out = []
    for name in sorted(os.listdir(os.path.join(ROOT, "crds"))):
        if name.endswith(".yaml"):
            for d in load_all(os.path.join(ROOT, "crds", name)):
                out.append((name, d))
    return out


def operator_manifests(image):
    docs = []
    for name in ["namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "deployment.yaml"]:
        text = open(os.path.join(ROOT, "config/operator", name)).read().replace("__METALLB_IMAGE__", image)
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def csv(ver, image, manifests, crd_docs):
    by_kind = {}
    for d in manifests:
        by_kind.setdefault(d["kind"], []).append(d)
    deployment = by_kind["Deployment"][0]
    owned = []
    for _, c in crd_docs:
        for v in c["spec"]["versions"]:
            if not v.get("served", True):
                continue
            schema = v.get("schema", {}).get("openAPIV3Schema", {})
            owned.append({
                "name": c["metadata"]["name"],
                "version": v["name"],
                "kind": c["spec"]["names"]["kind"],
                "displayName": c["spec"]["names"]["kind"],
                "description": (schema.get("description") or c["spec"]["names"]["kind"]).split("\n")[0][:200],
            })
    example = [{"apiVersion": "metallb.io/v1beta1", "kind": "MetalLB", "metadata": {"name": "metallb", "namespace": NAMESPACE}, "spec": {}}]
    return {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {
            "name": f"{PACKAGE}.v{ver}",
            "namespace": "placeholder",
            "annotations": {
                "alm-examples": json.dumps(example),
                "capabilities": "Basic Install",
                "categories": "Networking",
                "containerImage": image,
                "description": "Load balancer for bare-metal Kubernetes that speaks MetalLB's API (metallb.io).",
                "operatorframework.io/suggested-namespace": NAMESPACE,
                "operators.operatorframework.io/builder": "hack/bundle",
            },
        },
        "spec": {
            "displayName": "swift-metallb",
            "description": "Installs and keeps in place the swift-metallb controller (IP address management, the "
                           "validating webhook) and speakers (Layer 2 and BGP announcements) from one MetalLB resource "
                           "named metallb in the operator's namespace, and reports their health on its status.",
            "version": ver,
            "maturity": CHANNEL,
            "minKubeVersion": "1.20.0",
            "provider": {"name": "swift-metallb"},
            "keywords": ["load balancer", "bare metal", "metallb", "layer 2", "bgp"],
            "links": [{"name": "Documentation", "url": "https://github.com/swift-metallb/swift-metallb/tree/main/docs"}],
            "maintainers": [{"name": "swift-metallb", "email": "maintainers@swift-metallb.invalid"}],
            "installModes": [
                {"type": "OwnNamespace", "supported": True},
                {"type": "SingleNamespace", "supported": False},
                {"type": "MultiNamespace", "supported": False},
                {"type": "AllNamespaces", "supported": False},
            ],
            "customresourcedefinitions": {"owned": owned},
            "install": {
                "strategy": "deployment",
                "spec": {
                    "clusterPermissions": [{"serviceAccountName": "metallb-operator", "rules": by_kind["ClusterRole"][0]["rules"]}],
                    "permissions": [{"serviceAccountName": "metallb-operator", "rules": by_kind["Role"][0]["rules"]}],
                    "deployments": [{
                        "name": deployment["metadata"]["name"],
                        "label": deployment["metadata"]["labels"],
                        "spec": deployment["spec"],
                    }],
                },
            },
        },
    }


def generate(out, image):
    ver = version()
    crd_docs = crds()
    manifests = operator_manifests(image)
    os.makedirs(os.path.join(out, "manifests"), exist_ok=True)
    os.makedirs(os.path.join(out, "metadata"), exist_ok=True)
    header = (f"# swift-metallb {ver}: the one file to apply (generated by hack/bundle from crds/ and config/operator/;\n"
              f"# do not edit). kubectl apply -f bundle/install.yaml, then create the MetalLB resource:\n"
              f"#   kubectl apply -f - <<< '{{apiVersion: metallb.io/v1beta1, kind: MetalLB, metadata: {{name: metallb, namespace: {NAMESPACE}}}}}'\n"
              f"# Image: {image}\n")
    docs = [manifests[0]] + [d for _, d in crd_docs] + manifests[1:]
    with open(os.path.join(out, "install.yaml"), "w") as f:
        f.write(header + "".join("---\n" + dump(d) for d in docs))
    with open(os.path.join(out, "manifests", f"{PACKAGE}.clusterserviceversion.yaml"), "w") as f:
        f.write(dump(csv(ver, image, manifests, crd_docs)))
    for name, d in crd_docs:
        with open(os.path.join(out, "manifests", name), "w") as f:
            f.write(dump(d))
    with open(os.path.join(out, "metadata", "annotations.yaml"), "w") as f:
        f.write(dump({"annotations": ANNOTATIONS}))
    with open(os.path.join(out, "bundle.Dockerfile"), "w") as f:
        f.write("# The OLM bundle image (generated by hack/bundle). Build from bundle/: docker build -f bundle.Dockerfile .\n")
        f.write("FROM scratch\n")
        for k, v in ANNOTATIONS.items():
            f.write(f"LABEL {k}={v}\n")
        f.write("COPY manifests /manifests/\nCOPY metadata /metadata/\n")


def validate(bundle):
    """The structure `operator-sdk bundle validate` checks for a registry+v1 bundle, as far as we use it."""
    problems = []
    ann = yaml.safe_load(open(os.path.join(bundle, "metadata", "annotations.yaml")))["annotations"]
    for k, v in ANNOTATIONS.items():
        if ann.get(k) != v:
            problems.append(f"metadata/annotations.yaml: {k} is {ann.get(k)!r}, want {v!r}")
    docker = open(os.path.join(bundle, "bundle.Dockerfile")).read()
    labels = dict(re.findall(r"^LABEL (\S+)=(\S+)$", docker, re.M))
    if labels != ann:
        problems.append("bundle.Dockerfile: its LABELs differ from metadata/annotations.yaml")
    for path in ["manifests", "metadata"]:
        if f"COPY {path} /{path}/" not in docker:
            problems.append(f"bundle.Dockerfile: does not copy {path}/")
    manifests = os.path.join(bundle, "manifests")
    csvs, crd_files = [], {}
    for name in sorted(os.listdir(manifests)):
        for d in load_all(os.path.join(manifests, name)):
            if d.get("kind") == "ClusterServiceVersion":
                csvs.append(d)
            elif d.get("kind") == "CustomResourceDefinition":
                crd_files[d["metadata"]["name"]] = d
            else:
                problems.append(f"manifests/{name}: unexpected kind {d.get('kind')}")
    if len(csvs) != 1:
        problems.append(f"manifests/: {len(csvs)} ClusterServiceVersions, want 1")
        return problems
    c = csvs[0]
    spec = c.get("spec", {})
    if c.get("apiVersion") != "operators.coreos.com/v1alpha1":
        problems.append("CSV: apiVersion must be operators.coreos.com/v1alpha1")
    if not re.fullmatch(rf"{PACKAGE}\.v{re.escape(spec.get('version', ''))}", c["metadata"].get("name", "")):
        problems.append("CSV: metadata.name must be <package>.v<spec.version>")
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?", spec.get("version", "")):
        problems.append(f"CSV: spec.version {spec.get('version')!r} is not semver")
    for field in ["displayName", "description", "provider", "maintainers", "installModes", "install", "minKubeVersion"]:
        if not spec.get(field):
            problems.append(f"CSV: spec.{field} is missing")
    modes = {m["type"]: m["supported"] for m in spec.get("installModes", [])}
    if set(modes) != {"OwnNamespace", "SingleNamespace", "MultiNamespace", "AllNamespaces"} or not any(modes.values()):
        problems.append("CSV: installModes must list the four types, at least one supported")
    try:
        json.loads(c["metadata"]["annotations"]["alm-examples"])
    except Exception as e:
        problems.append(f"CSV: alm-examples is not JSON: {e}")
    install = spec.get("install", {})
    if install.get("strategy") != "deployment":
        problems.append("CSV: install.strategy must be deployment")
    deps = install.get("spec", {}).get("deployments", [])
    if not deps or not all(d.get("name") and d.get("spec", {}).get("template") for d in deps):
        problems.append("CSV: install.spec.deployments needs named deployments with a pod template")
    sas = {d["spec"]["template"]["spec"].get("serviceAccountName") for d in deps}
    for perm in install.get("spec", {}).get("permissions", []) + install.get("spec", {}).get("clusterPermissions", []):
        if perm.get("serviceAccountName") not in sas:
            problems.append(f"CSV: permissions for {perm.get('serviceAccountName')}, which no deployment uses")
    owned = spec.get("customresourcedefinitions", {}).get("owned", [])
    seen = set()
    for o in owned:
        crd = crd_files.get(o.get("name"))
        if crd is None:
            problems.append(f"CSV: owns {o.get('name')}, which is not in manifests/")
            continue
        versions = {v["name"] for v in crd["spec"]["versions"]}
        if o.get("version") not in versions or o.get("kind") != crd["spec"]["names"]["kind"]:
            problems.append(f"CSV: owned {o.get('name')} {o.get('version')} {o.get('kind')} does not match the CRD")
        seen.add(o["name"])
    for name in crd_files:
        if name not in seen:
            problems.append(f"manifests/: CRD {name} is not owned by the CSV")
    return problems


def main():
    ap = argparse.ArgumentParser(prog="hack/bundle")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--image", default=DEFAULT_IMAGE)
    ap.add_argument("--out", default=os.path.join(ROOT, "bundle"))
    a = ap.parse_args()
    if a.check:
        tmp = tempfile.mkdtemp(prefix="swift-metallb-bundle.")
        try:
            generate(tmp, a.image)
            drift = []
            for base, _, files in os.walk(tmp):
                for f in files:
                    rel = os.path.relpath(os.path.join(base, f), tmp)
                    have = os.path.join(a.out, rel)
                    want = open(os.path.join(base, f)).read()
                    got = open(have).read() if os.path.exists(have) else ""
                    if got != want:
                        drift.append(rel)
                        sys.stdout.writelines(list(difflib.unified_diff(got.splitlines(True), want.splitlines(True), f"bundle/{rel}", f"generated/{rel}"))[:40])
            for base, _, files in os.walk(a.out):
                for f in files:
                    rel = os.path.relpath(os.path.join(base, f), a.out)
                    if not os.path.exists(os.path.join(tmp, rel)):
                        drift.append(rel + " (not generated)")
            problems = validate(a.out) if os.path.isdir(a.out) else ["bundle/ does not exist"]
            for p in problems:
                print(f"invalid: {p}")
            if drift:
                print(f"hack/bundle --check: bundle/ is not what crds/ and config/operator/ generate ({', '.join(sorted(drift))}); run hack/bundle and commit")
            if drift or problems:
                return 1
            print("hack/bundle --check: bundle/ is up to date and valid")
            return 0
        finally:
            shutil.rmtree(tmp)
    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    generate(a.out, a.image)
    problems = validate(a.out)
    for p in problems:
        print(f"invalid: {p}")
    print(f"hack/bundle: wrote {os.path.relpath(a.out, ROOT)}/ (image {a.image})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
