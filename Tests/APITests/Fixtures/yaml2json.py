#!/usr/bin/env python3
"""Regenerates the .json next to every fixture .yaml: a JSON array of the YAML documents.

The tests read the JSON (swiftc builds of the tests have no YAML parser); keep both in the repository
and run this after editing a fixture:  python3 Tests/APITests/Fixtures/yaml2json.py

YAML 1.1 reads "1234:1" as the base-60 integer 74041; Kubernetes' YAML reader does not, and neither
must we (BGP communities look like that), so the base-60 forms are removed from the resolver.
"""
import glob
import json
import os
import re
import sys

import yaml


class Loader(yaml.SafeLoader):
    pass


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"))
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    paths = sorted(glob.glob(os.path.join(here, "*", "*.yaml")))
    for path in paths:
        with open(path) as f:
            docs = [d for d in yaml.load_all(f, Loader=Loader)]
        with open(path[:-len(".yaml")] + ".json", "w") as f:
            json.dump(docs, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
    print(f"converted {len(paths)} fixtures", file=sys.stderr)


if __name__ == "__main__":
    main()
