#!/usr/bin/env python3
"""Write a one-layer image archive in the `docker save` format from a root filesystem directory.

`ctr images import` and `docker load` both read this format (manifest.json + config JSON +
layer tar). The layer is reproducible: entries sorted, owner root, mtime 0, so the same rootfs
gives the same image ID.

usage: docker-archive.py --rootfs DIR --tag NAME:TAG --out FILE [--entrypoint JSON] [--cmd JSON]
"""
import argparse, hashlib, io, json, os, stat, sys, tarfile, tempfile


def layer_tar(rootfs, path):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = os.path.join(dirpath, name)
                arc = os.path.relpath(full, rootfs)
                info = tar.gettarinfo(full, arcname=arc)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                if info.isreg():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rootfs", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--entrypoint", default="null")
    p.add_argument("--cmd", default="null")
    a = p.parse_args()
    if not os.path.isdir(a.rootfs):
        sys.exit(f"docker-archive: {a.rootfs} is not a directory")
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(a.out))) as tmp:
        layer = os.path.join(tmp, "layer.tar")
        layer_tar(a.rootfs, layer)
        diff_id = sha256_file(layer)
        config = {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Entrypoint": json.loads(a.entrypoint),
                "Cmd": json.loads(a.cmd),
                "WorkingDir": "/",
            },
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "hack/image"}],
        }
        config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
        config_id = hashlib.sha256(config_bytes).hexdigest()
        repo, _, tag = a.tag.rpartition(":")
        manifest = [{"Config": config_id + ".json", "RepoTags": [a.tag],
                     "Layers": [diff_id + "/layer.tar"]}]
        out_tmp = a.out + ".tmp"
        with tarfile.open(out_tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            def add_bytes(name, data):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
            d = tarfile.TarInfo(diff_id)
            d.type = tarfile.DIRTYPE
            d.mode = 0o755
            tar.addfile(d)
            tar.add(layer, arcname=diff_id + "/layer.tar")
            add_bytes(config_id + ".json", config_bytes)
            add_bytes("manifest.json", json.dumps(manifest).encode())
            add_bytes("repositories", json.dumps({repo: {tag: diff_id}}).encode())
        os.replace(out_tmp, a.out)
    print(f"sha256:{config_id}")


if __name__ == "__main__":
    main()
