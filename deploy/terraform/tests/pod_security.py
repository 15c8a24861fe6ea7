#!/usr/bin/env python3
"""Fail when a rendered pod would be rejected by Pod Security "restricted".

Checks every pod template (Deployment, StatefulSet, DaemonSet, Job, CronJob,
Pod) in the given multi-document YAML files against the rules of the
restricted profile (Kubernetes Pod Security Standards, latest):
no host namespaces, host ports, hostPath volumes or privileged containers;
only the allowed volume types; runAsNonRoot; no runAsUser 0;
allowPrivilegeEscalation false; capabilities drop ALL and add at most
NET_BIND_SERVICE; seccomp RuntimeDefault or Localhost; no unsafe sysctls,
AppArmor or SELinux overrides.

Usage: pod_security.py MANIFEST.yaml...
"""
import sys

import yaml

ALLOWED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
}


def pod_spec(obj):
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return spec.get("template", {}).get("spec")
    return None


def check(spec):
    errs = []
    psc = spec.get("securityContext") or {}
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            errs.append(f"{host} is set")
    for v in spec.get("volumes") or []:
        kinds = set(v) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            errs.append(f"volume {v.get('name')} uses {sorted(kinds - ALLOWED_VOLUMES)}")
    for s in psc.get("sysctls") or []:
        if s.get("name") not in SAFE_SYSCTLS:
            errs.append(f"unsafe sysctl {s.get('name')}")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or []) + (
        spec.get("ephemeralContainers") or [])
    for c in containers:
        name = c.get("name")
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            errs.append(f"{name}: privileged")
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                errs.append(f"{name}: hostPort {p['hostPort']}")
        if sc.get("allowPrivilegeEscalation") is not False:
            errs.append(f"{name}: allowPrivilegeEscalation is not false")
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root is not True:
            errs.append(f"{name}: runAsNonRoot is not true")
        if sc.get("runAsUser", psc.get("runAsUser")) == 0:
            errs.append(f"{name}: runAsUser 0")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            errs.append(f"{name}: capabilities do not drop ALL")
        extra = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            errs.append(f"{name}: adds capabilities {sorted(extra)}")
        seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            errs.append(f"{name}: seccompProfile is {seccomp!r}, not RuntimeDefault/Localhost")
        if sc.get("procMount") not in (None, "Default"):
            errs.append(f"{name}: procMount {sc['procMount']}")
        se = sc.get("seLinuxOptions") or {}
        if se.get("user") or se.get("role"):
            errs.append(f"{name}: seLinuxOptions user/role set")
    return errs


def main(paths):
    failed = False
    pods = 0
    for path in paths:
        with open(path) as f:
            for obj in yaml.safe_load_all(f):
                if not isinstance(obj, dict):
                    continue
                spec = pod_spec(obj)
                if spec is None:
                    continue
                pods += 1
                for e in check(spec):
                    failed = True
                    print(f"{path}: {obj['kind']}/{obj['metadata']['name']}: {e}", file=sys.stderr)
    if pods == 0:
        print("no pod templates found", file=sys.stderr)
        return 1
    if failed:
        return 1
    print(f"{pods} pod templates meet Pod Security 'restricted'")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
