#!/usr/bin/env python3
"""Turn `tofu console` output of jsonencode(local.app_chart_values) into
Helm arguments: writes OUTDIR/<release>-<n>.yaml for each values document and
OUTDIR/<release>.args (one `-f FILE` pair per line pair) for the check.

Usage: render_values.py CONSOLE_OUTPUT OUTDIR
"""
import json
import pathlib
import sys


def main(console: pathlib.Path, outdir: pathlib.Path) -> int:
    text = console.read_text().strip()
    # console prints the JSON as an HCL string literal; HCL escapes template
    # sequences in it by doubling them.
    text = text.replace("$${", "${").replace("%%{", "%{")
    releases = json.loads(json.loads(text))
    for release, spec in releases.items():
        args = []
        for n, doc in enumerate(spec["values"]):
            f = outdir / f"{release}-{n}.yaml"
            f.write_text(doc)
            args += ["-f", str(f)]
        (outdir / f"{release}.args").write_text("\n".join(args) + "\n")
        print(release)
    return 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])))
