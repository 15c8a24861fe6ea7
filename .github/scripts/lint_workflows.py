#!/usr/bin/env python3
"""Project rules for .github/ that actionlint does not know.

- Every third-party action is pinned to a full commit SHA with a version
  comment (`uses: owner/repo@<40 hex> # vX.Y.Z`); local ones start with ./
- Every workflow sets `permissions` at the top level, and every workflow
  that is not only reusable sets `concurrency`.
- The path filters ci-gate.yml uses (.github/path-filters.yml) are exactly
  the `paths:` of the workflows they stand for, for push and pull_request.
- CI never pages: no workflow or action reads a secret (only the run's own
  GITHUB_TOKEN), none passes `secrets: inherit` or declares workflow_call
  secrets, TF_VAR_pagerduty_integration_key is only ever set empty, and the
  kind-platform action fails on a plan whose `pagerduty_key_set` output is
  not false (deploy/terraform/outputs.tf must define it).
- Tool versions come from deploy/versions.env, the file deploy/checks
  source: a step loads it into $GITHUB_ENV before azure/setup-helm,
  hashicorp/setup-terraform and helm/kind-action, which take
  `${{ env.HELM_VERSION }}`, `${{ env.TERRAFORM_VERSION }}` and
  `${{ env.KIND_VERSION }}`; the file holds plain NAME=VALUE lines (what
  $GITHUB_ENV and bash read alike). Every job step that runs helm or
  build.sh comes after the step that installs Helm.
- A chart's path filter covers the charts it links under charts/ (the app
  charts' library chart): a change to the library deploys both roles. The
  deploy workflows watch deploy/versions.env (their tools' versions).
- Job and step conditions: `!cancelled()` rather than `always()` (a
  cancelled run stops), and the diagnostics step runs on
  `failure() || cancelled()` (a timeout cancels the job).

Usage: lint_workflows.py REPO_ROOT
"""
import pathlib
import re
import sys

import yaml

USES = re.compile(r"^\s*-?\s*uses:\s*(\S+)(.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\b")
SECRET_REF = re.compile(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)")
PD_VAR = re.compile(r"TF_VAR_pagerduty_integration_key\b(.*)")
RUNS_HELM = re.compile(r"(^|[\s;&|(])(helm|\./build\.sh|build\.sh)\s")
KIND_PLATFORM = "./.github/actions/kind-platform"
VERSIONS_ENV = "deploy/versions.env"
VERSIONS_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=([^\s'\"$`\\]+)$")
# Actions that install a tool: (input, versions.env name).
TOOL_ACTIONS = {
    "azure/setup-helm": ("version", "HELM_VERSION"),
    "hashicorp/setup-terraform": ("terraform_version", "TERRAFORM_VERSION"),
    "helm/kind-action": ("version", "KIND_VERSION"),
}
LOADS_VERSIONS = re.compile(re.escape(VERSIONS_ENV) + r".*>>\s*\"?\$GITHUB_ENV")
FILTER_TO_WORKFLOW = {
    "infra": "infra-deploy.yml",
    "backend": "backend-deploy.yml",
    "frontend": "frontend-deploy.yml",
}


def steps_of(doc):
    """(job name, steps) of a workflow, or of a composite action."""
    if "runs" in doc:
        return [("(action)", doc["runs"].get("steps") or [])]
    return [(name, job.get("steps") or []) for name, job in (doc.get("jobs") or {}).items()]


def check_never_pages(root, files, errors):
    for f in files:
        rel = f.relative_to(root)
        for n, line in enumerate(f.read_text().splitlines(), 1):
            code = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
            for name in SECRET_REF.findall(code):
                if name != "GITHUB_TOKEN":
                    errors.append(f"{rel}:{n}: reads secrets.{name}: CI takes no secrets (a CI cluster must never get the PagerDuty key)")
            if re.search(r"secrets:\s*inherit", code):
                errors.append(f"{rel}:{n}: `secrets: inherit` hands every secret to the called workflow")
            m = PD_VAR.search(code)
            if m and not re.fullmatch(r'=?"?\s*', m.group(1).strip()):
                errors.append(f"{rel}:{n}: sets TF_VAR_pagerduty_integration_key to something else than empty")
        doc = yaml.safe_load(f.read_text())
        on = doc.get(True, doc.get("on")) if isinstance(doc, dict) else None
        call = (on or {}).get("workflow_call") if isinstance(on, dict) else None
        if isinstance(call, dict) and call.get("secrets"):
            errors.append(f"{rel}: workflow_call declares secrets {sorted(call['secrets'])}: CI takes none")
    action = root / ".github/actions/kind-platform/action.yml"
    text = action.read_text() if action.exists() else ""
    if not re.search(r"pagerduty_key_set[^\n]*\n(.*\n){0,3}\s*if \[ \"\$key_set\" != false \]", text):
        errors.append(f"{action.relative_to(root)}: no step fails the job when the plan's pagerduty_key_set output is not false")
    else:
        doc = yaml.safe_load(text)
        names = [s.get("name", "") for s in doc["runs"]["steps"]]
        runs = [s.get("run", "") for s in doc["runs"]["steps"]]
        guard = next(i for i, r in enumerate(runs) if "pagerduty_key_set" in r)
        applies = [i for i, r in enumerate(runs) if re.search(r"terraform\b.*\bapply\b", r) and "-target" not in r]
        if not applies or guard > min(applies):
            errors.append(f"{action.relative_to(root)}: the pagerduty_key_set check ('{names[guard]}') must run before the full apply")
    outputs = (root / "deploy/terraform/outputs.tf").read_text()
    if 'output "pagerduty_key_set"' not in outputs:
        errors.append("deploy/terraform/outputs.tf: no output pagerduty_key_set (the kind-platform action reads it)")


def read_versions(root, errors):
    """deploy/versions.env as a dict; every line a comment, blank or NAME=VALUE."""
    versions = {}
    path = root / VERSIONS_ENV
    if not path.exists():
        errors.append(f"{VERSIONS_ENV}: missing")
        return versions
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = VERSIONS_LINE.match(line)
        if not m:
            errors.append(f"{VERSIONS_ENV}:{n}: '{line}' is not a plain NAME=VALUE line ($GITHUB_ENV would read it otherwise than bash)")
            continue
        versions[m.group(1)] = m.group(2)
    return versions


def check_tool_versions(root, files, versions, errors):
    docs = {f: yaml.safe_load(f.read_text()) for f in files}
    action_installs_helm = False
    for f, doc in docs.items():
        rel = f.relative_to(root)
        for job, steps in steps_of(doc):
            installed = loaded = False
            for step in steps:
                uses = step.get("uses", "")
                if LOADS_VERSIONS.search(str(step.get("run", ""))):
                    loaded = True
                tool = TOOL_ACTIONS.get(uses.split("@", 1)[0])
                if tool:
                    key, name = tool
                    value = str((step.get("with") or {}).get(key, ""))
                    want = "${{ env.%s }}" % name
                    if value != want:
                        errors.append(f"{rel}: job {job}: {uses.split('@', 1)[0]} {key} is '{value}', expected '{want}' ({VERSIONS_ENV})")
                    elif not loaded:
                        errors.append(f"{rel}: job {job}: {uses.split('@', 1)[0]} reads env.{name} before a step loads {VERSIONS_ENV} into $GITHUB_ENV")
                    if name not in versions:
                        errors.append(f"{rel}: job {job}: {VERSIONS_ENV} has no {name}")
                if uses.startswith("azure/setup-helm@"):
                    installed = True
                    if f.name == "action.yml" and f.parent.name == "kind-platform":
                        action_installs_helm = True
                if uses == KIND_PLATFORM:
                    installed = True
                if RUNS_HELM.search(" " + str(step.get("run", ""))) and not installed:
                    errors.append(f"{rel}: job {job}: step '{step.get('name', '?')}' runs helm or build.sh before Helm is installed")
    if not action_installs_helm:
        errors.append(".github/actions/kind-platform/action.yml: does not install Helm with azure/setup-helm")


def check_chart_dependencies(root, workflows, errors):
    """A workflow that watches deploy/helm/CHART/** watches the charts it links."""
    for wf, doc in workflows.items():
        on = doc.get(True, doc.get("on"))
        paths = set(((on or {}).get("push") or {}).get("paths") or [])
        for p in sorted(paths):
            m = re.fullmatch(r"deploy/helm/([\w.-]+)/\*\*", p)
            if not m:
                continue
            charts = root / "deploy/helm" / m.group(1) / "charts"
            for link in sorted(charts.iterdir()) if charts.is_dir() else []:
                if not link.is_symlink():
                    continue
                target = link.resolve().relative_to(root.resolve())
                if f"{target}/**" not in paths:
                    errors.append(f"{wf}: watches {p} but not {target}/** (linked as {link.relative_to(root)})")


def check_conditions(root, files, errors):
    for f in files:
        doc = yaml.safe_load(f.read_text())
        rel = f.relative_to(root)
        jobs = (doc.get("jobs") or {}) if "runs" not in doc else {}
        for name, job in jobs.items():
            if "always()" in str(job.get("if", "")):
                errors.append(f"{rel}: job {name}: `always()` runs even when the run was cancelled; use `!cancelled()`")
        for job, steps in steps_of(doc):
            for step in steps:
                cond = str(step.get("if", ""))
                if "always()" in cond:
                    errors.append(f"{rel}: job {job}: step '{step.get('name', '?')}': use `!cancelled()` or `failure() || cancelled()`, not `always()`")
                if "diagnostics.sh" in str(step.get("run", "")) and cond.replace(" ", "") not in ("failure()||cancelled()", "${{failure()||cancelled()}}"):
                    errors.append(f"{rel}: job {job}: the diagnostics step runs on '{cond}', expected `failure() || cancelled()` (a timeout cancels the job)")


def main(root: pathlib.Path) -> int:
    gh = root / ".github"
    errors = []
    files = sorted(gh.glob("workflows/*.yml")) + sorted(gh.glob("actions/*/action.yml"))
    check_never_pages(root, files, errors)
    check_tool_versions(root, files, read_versions(root, errors), errors)
    check_conditions(root, files, errors)
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

    check_chart_dependencies(root, workflows, errors)
    for wf in FILTER_TO_WORKFLOW.values():
        on = (workflows.get(wf) or {}).get(True, (workflows.get(wf) or {}).get("on"))
        if VERSIONS_ENV not in (((on or {}).get("push") or {}).get("paths") or []):
            errors.append(f"{wf}: on.push.paths misses {VERSIONS_ENV} (the versions of the tools it installs)")

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
    if len(sys.argv) != 2:
        sys.exit("usage: lint_workflows.py REPO_ROOT")
    sys.exit(main(pathlib.Path(sys.argv[1])))
