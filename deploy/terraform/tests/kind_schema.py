#!/usr/bin/env python3
"""Checks our kind_cluster blocks against the tehcyx/kind v0.11.0 schema.

The provider is not on the Go module proxy, so deploy/checks/50-terraform.sh
validates the configuration with a stand-in for kind_cluster.this; this
check keeps a typo in the kind_cluster block from passing there. The schema
below is written down from the provider's v0.11.0 documentation
(docs/resources/cluster.md: arguments and exported attributes) and, for the
blocks inside kind_config that the page shows only by example, from the
schema the v0.11.0 tag declares (kind/schema_kind_config.go). Update it
with the provider pin in versions.tf.

It reads the configuration as JSON (hcl2json) and checks, for every
kind_cluster resource: each argument and block name is in the schema, at
its nesting level; required arguments are set; computed-only attributes are
not set; blocks allowed once appear once; literal values have the schema's
type; lifecycle.ignore_changes names attributes of the schema. Every
`kind_cluster.NAME.ATTR` reference in the .tf files must name an attribute
the resource has.

Usage: kind_schema.py HCL_JSON_FILE... -- TF_FILE...
"""
import json
import re
import sys

PROVIDER = "tehcyx/kind 0.11.0"

# A schema node: "attrs" maps an argument to (type, required); "blocks" maps
# a nested block to (schema node, max items or None).
EXTRA_PORT_MAPPINGS = {
    "attrs": {
        "container_port": ("number", False),
        "host_port": ("number", False),
        "listen_address": ("string", False),
        "protocol": ("string", False),
    },
    "blocks": {},
}
EXTRA_MOUNTS = {
    "attrs": {
        "host_path": ("string", False),
        "container_path": ("string", False),
        "propagation": ("string", False),
        "read_only": ("bool", False),
        "selinux_relabel": ("bool", False),
    },
    "blocks": {},
}
NODE = {
    "attrs": {
        "role": ("string", False),
        "image": ("string", False),
        "labels": ("map", False),
        "kubeadm_config_patches": ("list", False),
    },
    "blocks": {
        "extra_mounts": (EXTRA_MOUNTS, None),
        "extra_port_mappings": (EXTRA_PORT_MAPPINGS, None),
    },
}
NETWORKING = {
    "attrs": {
        "ip_family": ("string", False),
        "api_server_address": ("string", False),
        "api_server_port": ("number", False),
        "pod_subnet": ("string", False),
        "service_subnet": ("string", False),
        "disable_default_cni": ("bool", False),
        "kube_proxy_mode": ("string", False),
        "dns_search": ("list", False),
    },
    "blocks": {},
}
KIND_CONFIG = {
    "attrs": {
        "kind": ("string", True),
        "api_version": ("string", True),
        "containerd_config_patches": ("list", False),
        "runtime_config": ("map", False),
        "feature_gates": ("map", False),
    },
    "blocks": {
        "node": (NODE, None),
        "networking": (NETWORKING, 1),
    },
}
TIMEOUTS = {
    "attrs": {"create": ("string", False), "update": ("string", False), "delete": ("string", False)},
    "blocks": {},
}
KIND_CLUSTER = {
    "attrs": {
        "name": ("string", True),
        "node_image": ("string", False),
        "wait_for_ready": ("bool", False),
        "kubeconfig_path": ("string", False),
    },
    "blocks": {
        "kind_config": (KIND_CONFIG, 1),
        "timeouts": (TIMEOUTS, 1),
    },
}
# Exported, computed only: readable, never set.
COMPUTED = {"id", "kubeconfig", "client_certificate", "client_key", "cluster_ca_certificate", "endpoint", "completed"}
# Terraform's own arguments of every resource.
META_ATTRS = {"count", "for_each", "provider", "depends_on"}
META_BLOCKS = {"lifecycle", "provisioner", "connection"}

EXPR = re.compile(r"^\$\{.*\}$", re.S)


def type_ok(kind, value):
    if isinstance(value, str) and EXPR.match(value):
        return True  # an expression: its type is only known to Terraform
    return {
        "string": isinstance(value, str),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "map": isinstance(value, dict),
        "list": isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value),
    }[kind]


def is_block(value):
    return isinstance(value, list) and all(isinstance(v, dict) for v in value) and value != []


def check_body(path, body, node, errors, top=False):
    for key, value in body.items():
        where = f"{path}.{key}"
        if top and key in META_ATTRS:
            continue
        if top and key in META_BLOCKS:
            if key == "lifecycle":
                for lc in value:
                    for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(lc.get("ignore_changes", ""))):
                        if name not in node["attrs"] and name not in node["blocks"] and name != "all":
                            errors.append(f"{where}.ignore_changes: '{name}' is not an argument of kind_cluster ({PROVIDER})")
            continue
        if key in node["blocks"]:
            sub, max_items = node["blocks"][key]
            if not is_block(value):
                errors.append(f"{where}: is a block in {PROVIDER}; write `{key} {{ ... }}`")
                continue
            if max_items is not None and len(value) > max_items:
                errors.append(f"{where}: at most {max_items} block(s) allowed, found {len(value)}")
            for i, item in enumerate(value):
                check_body(f"{where}[{i}]", item, sub, errors)
        elif key in node["attrs"]:
            kind, _ = node["attrs"][key]
            if is_block(value) and kind not in ("list",):
                errors.append(f"{where}: is an argument in {PROVIDER}, not a block")
            elif not type_ok(kind, value):
                errors.append(f"{where}: expects a {kind}, got {json.dumps(value)}")
        elif top and key in COMPUTED:
            errors.append(f"{where}: is computed by the provider and cannot be set")
        else:
            known = sorted(set(node["attrs"]) | set(node["blocks"]))
            errors.append(f"{where}: no such argument or block in {PROVIDER} (known here: {', '.join(known)})")
    for key, (_, required) in node["attrs"].items():
        if required and key not in body:
            errors.append(f"{path}: the required argument '{key}' is missing")


def main(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    split = argv.index("--")
    json_files, tf_files = argv[:split], argv[split + 1:]
    errors, names = [], set()
    for f in json_files:
        with open(f) as fh:
            doc = json.load(fh)
        for name, bodies in (doc.get("resource", {}).get("kind_cluster") or {}).items():
            names.add(name)
            for i, body in enumerate(bodies):
                check_body(f"kind_cluster.{name}", body, KIND_CLUSTER, errors, top=True)
    readable = set(KIND_CLUSTER["attrs"]) | set(KIND_CLUSTER["blocks"]) | COMPUTED
    refs = 0
    for f in tf_files:
        with open(f) as fh:
            for n, line in enumerate(fh, 1):
                if line.lstrip().startswith("#"):
                    continue
                for name, attr in re.findall(r"\bkind_cluster\.([A-Za-z_][\w-]*)\.([A-Za-z_]\w*)", line):
                    refs += 1
                    if name not in names:
                        errors.append(f"{f}:{n}: kind_cluster.{name} is not declared")
                    elif attr not in readable:
                        errors.append(f"{f}:{n}: kind_cluster.{name}.{attr}: no such attribute in {PROVIDER}")
    if not names:
        errors.append("no kind_cluster resource found")
    for e in errors:
        print(e, file=sys.stderr)
    if not errors:
        print(f"kind_cluster {', '.join(sorted(names))}: every argument and block is in the {PROVIDER} schema; {refs} references to its attributes")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
