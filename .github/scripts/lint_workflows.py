#!/usr/bin/env python3
"""Project rules for .github/ that actionlint does not know.

- Every third-party action is pinned to a full commit SHA with a version
  comment (`uses: owner/repo@<40 hex> # vX.Y.Z`); local ones start with ./
- Every workflow sets `permissions` at the top level, and every workflow
  that is not only reusable sets `concurrency`.
- The path filters ci-gate.yml uses (.github/path-filters.yml) are exactly
  the `paths:` of the workflows they stand for, for push and pull_request.

Usage: lint_workflows.py REPO_ROOT
"""
import pathlib
import re
import sys

import yaml

USES = re.compile(r"^\s*-?\s*uses:\s*(\S+)(.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\b")
FILTER_TO_WORKFLOW = {
    "infra": "infra-deploy.yml",
    "backend": "backend-deploy.yml",
    "frontend": "frontend-deploy.yml",
}


def main(root: pathlib.Path) -> int:
    gh = root / ".github"
    errors = []
    files = sorted(gh.glob("workflows/*.yml")) + sorted(gh.glob("actions/*/action.yml"))
    for f in files:
        for n, line in enumerate(f.read_text().splitlines(), 1):
            m = USES.match(line)
            if not m:
                continue
            ref, rest = m.group(1), m.group(2)
            if ref.startswith("./") or ref.startswith("docker://"):
                continue
            if not PINNED.match(ref):
                errors.append(f"{f.relative_to(root)}:{n}: {ref} is not pinned to a full commit SHA")
            elif not VERSION_COMMENT.search(rest):
                errors.append(f"{f.relative_to(root)}:{n}: {ref} has no '# vX.Y.Z' comment")

    workflows = {}
    for f in sorted(gh.glob("workflows/*.yml")):
        doc = yaml.safe_load(f.read_text())
        workflows[f.name] = doc
        on = doc.get(True, doc.get("on"))  # YAML 1.1 reads a bare `on` as True
        if "permissions" not in doc:
            errors.append(f"{f.relative_to(root)}: no top-level permissions")
        reusable_only = isinstance(on, dict) and set(on) == {"workflow_call"}
        if not reusable_only and "concurrency" not in doc:
            errors.append(f"{f.relative_to(root)}: no concurrency group")

    filters = yaml.safe_load((gh / "path-filters.yml").read_text())
    if set(filters) != set(FILTER_TO_WORKFLOW):
        errors.append(f"path-filters.yml: filters {sorted(filters)}, expected {sorted(FILTER_TO_WORKFLOW)}")
    for name, wf in FILTER_TO_WORKFLOW.items():
        doc = workflows.get(wf)
        if doc is None:
            errors.append(f"workflow {wf} is missing")
            continue
        on = doc.get(True, doc.get("on"))
        for event in ("push", "pull_request"):
            paths = ((on or {}).get(event) or {}).get("paths")
            if sorted(paths or []) != sorted(filters.get(name) or []):
                errors.append(
                    f"{wf}: on.{event}.paths differ from path-filters.yml '{name}' "
                    f"(only in workflow: {sorted(set(paths or []) - set(filters.get(name) or []))}, "
                    f"only in filter: {sorted(set(filters.get(name) or []) - set(paths or []))})"
                )

    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
