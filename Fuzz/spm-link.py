#!/usr/bin/env python3
"""Tells hack/fuzz how to compile against and link SwiftPM-built modules (e.g. swift-crypto's Crypto).

usage: spm-link.py MANIFEST TARGET...

MANIFEST is the llbuild manifest SwiftPM wrote for the scratch build (SCRATCH/release.yaml or SCRATCH/debug.yaml)
after `swift build --scratch-path SCRATCH -c release|debug --target TARGET`. For each TARGET this follows the manifest's
build graph from the target's module node: its object files, the object files of every C target it was built
against, and recursively the same for every Swift module it imports. Prints one item per line:

  FLAG <arg>   a compiler argument the client needs (-I for Modules/, -Xcc module maps and include dirs)
  OBJ <path>   an object file to link
  LIB <arg>    a linker argument (-lstdc++ when a C++ target, such as BoringSSL, is linked)

The manifest is YAML of a fixed, line-oriented shape whose lists are JSON, so no YAML library is needed.
"""
import json
import os
import re
import sys


def parse(path):
    commands = {}
    section = None
    name = None
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            if not line.startswith(" "):
                section = line.rstrip().rstrip(":")
                continue
            if section != "commands":
                continue
            m = re.match(r'^  "(.*)":\s*$', line)
            if m:
                name = m.group(1)
                commands[name] = {}
                continue
            m = re.match(r"^    (inputs|outputs|args): (\[.*\])\s*$", line)
            if m and name is not None:
                commands[name][m.group(1)] = json.loads(m.group(2))
    return commands


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    commands = parse(sys.argv[1])
    producer = {}
    for name, c in commands.items():
        for o in c.get("outputs", []):
            producer.setdefault(o, name)

    objects, flags, seen = [], [], set()
    modules_done = set()

    def add_flags(args):
        # Keep what locates modules and headers: -I DIR, -Xcc -fmodule-map-file=F, -Xcc -I -Xcc DIR, -Xcc -IDIR.
        i = 0
        while i < len(args):
            a = args[i]
            group = None
            if a == "-I" and i + 1 < len(args):
                group = (a, args[i + 1])
            elif a == "-Xcc" and i + 1 < len(args):
                b = args[i + 1]
                if b == "-I" and i + 3 < len(args) and args[i + 2] == "-Xcc":
                    group = (a, b, "-Xcc", args[i + 3])
                elif b.startswith("-fmodule-map-file=") or b.startswith("-I"):
                    group = (a, b)
            if group is None:
                i += 1
                continue
            if group not in flags:
                flags.append(group)
            i += len(group)

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        if node.endswith(".o"):
            objects.append(node)
        cmd_name = producer.get(node)
        if cmd_name is None:
            return
        cmd = commands[cmd_name]
        if cmd_name.endswith(".module") and cmd_name.startswith("C.") and cmd_name not in modules_done:
            modules_done.add(cmd_name)
            add_flags(cmd.get("args", []))
            for o in cmd.get("outputs", []):
                if o.endswith(".o"):
                    visit(o)
        for i in cmd.get("inputs", []):
            if i.endswith(".o") or i.endswith(".swiftmodule") or i.startswith("<"):
                visit(i)

    config = os.path.basename(sys.argv[1]).rsplit(".", 1)[0]   # release.yaml or debug.yaml
    for target in sys.argv[2:]:
        roots = [n for n in commands if re.fullmatch(r"<%s-[^>]*-%s\.module>" % (re.escape(target), config), n)]
        if not roots:
            sys.exit(f"spm-link.py: no module node for target {target} in {sys.argv[1]}")
        for r in roots:
            for i in commands[r].get("inputs", []):
                visit(i)
            visit(r)
    for group in flags:
        for a in group:
            print("FLAG", a)
    for o in objects:
        print("OBJ", o)
    if any(o.endswith((".cc.o", ".cpp.o", ".cxx.o")) for o in objects):
        print("LIB -lstdc++")


if __name__ == "__main__":
    main()
