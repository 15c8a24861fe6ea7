#!/usr/bin/env python3
"""The diagnostics script reads the columns kubectl really prints for pods.

.github/scripts/diagnostics.sh pipes `kubectl get pods -A` into
not-ready-pods.awk, which picks NAMESPACE, NAME, READY and STATUS by their
header names. This check builds the table kubectl prints, from kubectl's own
sources:

- the pod columns and their priorities (pkg/printers/internalversion/printers.go
  of k8s.io/kubernetes: podColumnDefinitions; priority 0 columns are the
  default ones, READY is "ready/total", STATUS the pod's reason, "Completed"
  for a pod that succeeded, RESTARTS "N (AGE ago)");
- the header (pkg/printers/tableprinter.go of k8s.io/cli-runtime: upper-cased
  column names after the NAMESPACE column of --all-namespaces, cells
  separated by at least three spaces),

runs the awk program on pods in every state a failed deploy leaves, and
compares its choice with the pods that need a look: not Running and not
Completed, or Running with fewer ready containers than it has.

Usage: pod_columns.py PRINTERS_GO TABLEPRINTER_GO DIAGNOSTICS_SH AWK_FILE
"""
import re
import subprocess
import sys

# (namespace, name, ready, status, restarts, needs a look)
PODS = [
    ("guestbook", "backend-ok", "1/1", "Running", "0", False),
    ("guestbook", "backend-crashing", "0/1", "CrashLoopBackOff", "7 (2m ago)", True),
    ("monitoring", "half-ready", "1/2", "Running", "3 (10s ago)", True),
    ("monitoring", "sidecars-ok", "3/3", "Running", "1 (4h ago)", False),
    ("kube-system", "job-done", "0/1", "Completed", "0", False),
    ("guestbook", "waiting", "0/1", "Pending", "0", True),
    ("guestbook", "initialising", "0/2", "Init:0/1", "0", True),
    ("guestbook", "bad-image", "0/1", "ImagePullBackOff", "0", True),
    ("ingress-nginx", "stopping", "1/1", "Terminating", "0", True),
    ("guestbook", "guestbook-backend-test", "0/2", "Error", "0", True),
]
DIAGNOSTICS_PIPE = re.compile(r'^kubectl get pods -A \| awk -f "\$HERE/not-ready-pods\.awk"', re.M)


def pod_columns(printers_go):
    text = open(printers_go).read()
    m = re.search(r"podColumnDefinitions := \[\]metav1\.TableColumnDefinition\{(.*?)\n\t\}", text, re.S)
    if not m:
        sys.exit(f"pod_columns.py: no podColumnDefinitions in {printers_go}")
    cols = []
    for entry in re.findall(r"\{Name: \"([^\"]+)\"([^\n]*)\}", m.group(1)):
        prio = re.search(r"Priority: (\d+)", entry[1])
        cols.append((entry[0], int(prio.group(1)) if prio else 0))
    if not re.search(r'"Completed"', text) or 'fmt.Sprintf("%d/%d", readyContainers, totalContainers)' not in text:
        sys.exit(f"pod_columns.py: printPod in {printers_go} no longer prints READY as ready/total or STATUS Completed")
    return cols


def header(tableprinter_go, cols):
    text = open(tableprinter_go).read()
    m = re.search(r'withNamespacePrefixColumns = \[\]string\{"([A-Z]+)"\}', text)
    if not m or "strings.ToUpper(column.Name)" not in text:
        sys.exit(f"pod_columns.py: {tableprinter_go} no longer upper-cases the headers after a NAMESPACE column")
    return [m.group(1)] + [name.upper() for name, prio in cols if prio == 0]


def table(head, rows):
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    lines = []
    for r in [head] + rows:
        lines.append("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines) + "\n"


def main(printers_go, tableprinter_go, diagnostics_sh, awk_file):
    errors = []
    if not DIAGNOSTICS_PIPE.search(open(diagnostics_sh).read()):
        errors.append(f"{diagnostics_sh}: no line `kubectl get pods -A | awk -f \"$HERE/not-ready-pods.awk\"` (the default columns, with their header)")
    head = header(tableprinter_go, pod_columns(printers_go))
    cell = {"NAMESPACE": 0, "NAME": 1, "READY": 2, "STATUS": 3, "RESTARTS": 4, "AGE": None}
    for name in head:
        if name not in cell:
            errors.append(f"kubectl prints a pod column {name} this check does not know; update PODS")
    rows = [[p[cell[h]] if cell.get(h) is not None else "5m" for h in head] for p in PODS]
    text = table(head, rows)
    res = subprocess.run(["awk", "-f", awk_file], input=text, capture_output=True, text=True)
    if res.returncode != 0:
        errors.append(f"{awk_file} failed on kubectl's table ({res.stderr.strip()}):\n{text}")
    got = {tuple(line.split()) for line in res.stdout.splitlines()}
    want = {(p[0], p[1]) for p in PODS if p[5]}
    for ns, name in sorted(want - got):
        errors.append(f"{awk_file}: skips {ns}/{name}, which needs a look")
    for ns, name in sorted(got - want):
        errors.append(f"{awk_file}: picks {ns}/{name}, which needs no look")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"kubectl get pods -A, as kubectl prints it:\n{text}", file=sys.stderr)
        return 1
    print(f"kubectl's pod columns {' '.join(head)}: {len(want)} of {len(PODS)} pods picked, the right ones")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
