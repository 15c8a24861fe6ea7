#!/usr/bin/env python3
"""Checks what promtool does not: every alert in deploy/alert_rules/*.yml
carries severity, summary, description and a runbook_url whose anchor is a
heading of deploy/RUNBOOK.md, and the tests under deploy/alert_rules/tests/
have, for every alert, a case where it fires and one where it must not.

usage: rules_meta.py RULES_DIR RUNBOOK
"""
import glob
import os
import re
import sys

import yaml

SEVERITIES = {"critical", "warning", "info"}


def anchors(runbook):
    out = set()
    with open(runbook, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
            if not m:
                continue
            # GitHub's anchor: lower case, punctuation dropped, spaces to '-'.
            a = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            out.add(a)
    return out


def main():
    rules_dir, runbook = sys.argv[1], sys.argv[2]
    known = anchors(runbook)
    errors = []
    alerts = {}
    for path in sorted(glob.glob(os.path.join(rules_dir, "*.yml"))):
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                name = rule.get("alert")
                if not name:
                    continue
                where = f"{os.path.basename(path)}: {name}"
                if name in alerts:
                    errors.append(f"{where}: alert name also used in {alerts[name]}")
                alerts[name] = os.path.basename(path)
                sev = rule.get("labels", {}).get("severity")
                if sev not in SEVERITIES:
                    errors.append(f"{where}: severity label {sev!r} not one of {sorted(SEVERITIES)}")
                ann = rule.get("annotations", {})
                for key in ("summary", "description", "runbook_url"):
                    if not str(ann.get(key, "")).strip():
                        errors.append(f"{where}: annotation {key} missing")
                url = ann.get("runbook_url", "")
                m = re.search(r"/deploy/RUNBOOK\.md#([\w-]+)$", url)
                if not m:
                    errors.append(f"{where}: runbook_url {url!r} does not point into deploy/RUNBOOK.md#section")
                elif m.group(1) not in known:
                    errors.append(f"{where}: runbook_url anchor #{m.group(1)} is no heading of {runbook}")

    fires, silent = set(), set()
    for path in sorted(glob.glob(os.path.join(rules_dir, "tests", "*.yml"))):
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        for test in doc.get("tests", []):
            for case in test.get("alert_rule_test", []) or []:
                name = case.get("alertname")
                if case.get("exp_alerts"):
                    fires.add(name)
                else:
                    silent.add(name)
    for name in sorted(alerts):
        if name not in fires:
            errors.append(f"{alerts[name]}: {name}: no test case where it fires")
        if name not in silent:
            errors.append(f"{alerts[name]}: {name}: no test case where it must stay silent")
    for name in sorted((fires | silent) - set(alerts)):
        errors.append(f"tests: alert {name} is tested but defined in no rule file")

    for e in errors:
        print(e, file=sys.stderr)
    print(f"{len(alerts)} alerts: labels, annotations, runbook links and "
          f"fire/silent test coverage {'OK' if not errors else 'FAILED'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
