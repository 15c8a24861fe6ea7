#!/usr/bin/env python3
"""The app workflows' path filters cover every input of the image and of `make test`.

backend-deploy and frontend-deploy build the image (Dockerfile) and run
`make test`; a change to anything either reads must start them. The inputs
are derived, not listed by hand:

- the image: Dockerfile, .dockerignore, and every tracked file the
  Dockerfile's COPY/ADD instructions take from the build context, with
  .dockerignore applied (Docker's rules: patterns in order, the last match
  wins, `!` re-includes, a pattern matching a directory matches what is in
  it);
- `make test`, and `make all install` (what the image's build runs): the
  commands make would run (`make -n -B`, recursing like make does), each
  word that names a tracked file or directory. A file in a top-level
  directory stands for the whole directory (a script reads its neighbours:
  tests/lib/*.sh, scripts/*), a top-level file for itself.

Every tracked file of those inputs must match a pattern of the 'backend'
and the 'frontend' filters in .github/path-filters.yml (GitHub's glob
syntax: `**` any path, `*` one name). lint_workflows.py keeps the
workflows' `paths:` equal to those filters.

Usage: build_inputs.py REPO_ROOT
"""
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

FILTERS = ("backend", "frontend")
MAKE_GOALS = (["test"], ["all", "install"])


def glob_regex(pattern, anchored_dirs=False):
    """A regex for a GitHub/Docker style glob ('**' crosses '/', '*' does not)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + ("(?:/.*)?" if anchored_dirs else "") + r"\Z")


def tracked_files(root):
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], check=True, capture_output=True).stdout
    return [f for f in out.decode().split("\0") if f and (root / f).exists()]


def dockerignore_included(root, files):
    """Tracked files that .dockerignore lets into the build context."""
    rules = []
    for line in (root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pat = os.path.normpath(line[1:] if negate else line).lstrip("/")
        # A pattern matching a directory matches everything in it.
        rules.append((negate, glob_regex(pat, anchored_dirs=True)))
    included = []
    for f in files:
        keep = True
        for negate, rx in rules:
            if rx.match(f):
                keep = negate
        if keep:
            included.append(f)
    return included


def image_inputs(root, files):
    """Files the image build reads: Dockerfile, .dockerignore, COPY/ADD sources."""
    inputs = {"Dockerfile", ".dockerignore"}
    context = dockerignore_included(root, files)
    text = (root / "Dockerfile").read_text().replace("\\\n", " ")
    sources = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue  # from another stage or image, not the context
        sources += args[:-1]
    if not sources:
        sys.exit("build_inputs.py: the Dockerfile copies nothing from the build context; is it parsed right?")
    for src in sources:
        src = os.path.normpath(src)
        rx = glob_regex(src, anchored_dirs=True) if src != "." else re.compile(".*")
        inputs.update(f for f in context if rx.match(f))
    return inputs


def make_inputs(root, files, tmp):
    """Tracked paths named by the commands of `make -n -B GOALS`."""
    tracked = set(files)
    dirs = {str(pathlib.PurePosixPath(f).parent) for f in files}
    inputs = {"Makefile"}
    for goals in MAKE_GOALS:
        # BUILD outside the checkout so no output path looks like a source.
        cmd = ["make", "-n", "-B", "--no-print-directory", "-C", str(root), f"BUILD={tmp}/build", *goals]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"build_inputs.py: {' '.join(cmd)} failed:\n{res.stderr}")
        for line in res.stdout.splitlines():
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            for w in words:
                for cand in (w, w[2:] if w.startswith(("-I", "-L")) else None):
                    if not cand:
                        continue
                    cand = os.path.normpath(cand)
                    if cand in tracked or cand in dirs:
                        inputs.add(cand)
    return inputs


def expand(inputs, files):
    """Top-level directory of each input (all its files), or the file itself."""
    out = set()
    for i in inputs:
        top = i.split("/", 1)[0]
        if "/" in i or any(f.startswith(top + "/") for f in files):
            out.update(f for f in files if f.startswith(top + "/"))
        else:
            out.add(i)
    return out


def main(root):
    files = tracked_files(root)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = expand(image_inputs(root, files) | make_inputs(root, files, tmp), files)
    filters = yaml.safe_load((root / ".github/path-filters.yml").read_text())
    errors = []
    for name in FILTERS:
        patterns = [glob_regex(p) for p in filters.get(name) or []]
        missing = sorted(f for f in inputs if not any(rx.match(f) for rx in patterns))
        by_top = {}
        for f in missing:
            by_top.setdefault(f.split("/", 1)[0], []).append(f)
        for top, fs in sorted(by_top.items()):
            hint = f'"{top}/**"' if "/" in fs[0] else f'"{top}"'
            errors.append(
                f"path-filters.yml '{name}': {len(fs)} input file(s) of the image or of make test "
                f"start no {name} run (e.g. {fs[0]}); add {hint} there and to {name}-deploy.yml's paths"
            )
    tops = sorted({f.split("/", 1)[0] for f in inputs})
    for e in errors:
        print(e, file=sys.stderr)
    if not errors:
        print(f"{len(inputs)} input files of the image and make test ({', '.join(tops)}) all start backend and frontend")
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(pathlib.Path(sys.argv[1]).resolve()))
