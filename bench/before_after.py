"""Run one benchmark on an earlier commit and on this tree, one after the other in one run, and
print both outputs: figures "before" and "after" measured on the same machine at the same time.

The earlier commit is checked out into a temporary git worktree (removed afterwards); each run
imports the code of its own tree (``PYTHONPATH``), with this tree's Python environment. A
benchmark that the earlier commit does not have runs from this tree's copy on the earlier code.

    python bench/before_after.py 7997dfb bench/app_server.py --repeat 5
    python bench/before_after.py 7997dfb bench/app_browser.py --repeat 8
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(tree: Path, script: str, args: list[str]) -> str:
    """The output of ``script`` (a path relative to the tree's root, or an absolute one) run in
    ``tree``, importing that tree's code."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, str(tree / script), *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout + (
        f"\n[exit {done.returncode}]\n{done.stderr[-2000:]}" if done.returncode else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="the earlier commit (any git revision)")
    parser.add_argument("script", help="the benchmark, relative to the repository root")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own arguments")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), options.before],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            script = options.script
            if not (base / script).exists():  # a new benchmark: this tree's copy, on that code
                script = str(ROOT / options.script)
                print(f"({options.script} is not at {options.before}: this tree's copy runs there)")
            before = run(base, script, options.args)
            after = run(ROOT, options.script, options.args)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False
            )
    print(f"=== before: {options.before}\n{before}\n=== after: this tree\n{after}")


if __name__ == "__main__":
    main()
