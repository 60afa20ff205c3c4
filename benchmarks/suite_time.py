"""Time the test suite on SQLite against a reference commit's, both in this one run.

    .venv/bin/python benchmarks/suite_time.py [--reference COMMIT] [--workers N]

The reference (by default the last commit before the suite was made faster) is checked out
in a temporary worktree and run the way it ran then: one process. The working tree then runs
as `make test` runs it. Both use this virtualenv. The goal is at most 300 s here.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "1b168e2"  # the suite before issue 12: an app per test, tables dropped and made
GOAL_SECONDS = 300.0


def run_suite(folder: Path, extra: list[str]) -> tuple[float, str]:
    """Run pytest in ``folder``; return the wall time and pytest's last line."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    env = {key: value for key, value in os.environ.items() if key != "CRM_TEST_DATABASE_URL"}
    started = time.monotonic()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False,
                          env=env)
    seconds = time.monotonic() - started
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    summary = lines[-1] if lines else done.stderr.strip()[-200:]
    if done.returncode != 0:
        raise SystemExit(f"pytest failed in {folder}: {summary}")
    return seconds, summary


def passed(summary: str) -> int:
    """Return the number of passed tests in pytest's summary line."""
    match = re.search(r"(\d+) passed", summary)
    return int(match.group(1)) if match else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=REFERENCE, help="commit to compare with")
    parser.add_argument("--workers", default="2", help="xdist workers for this tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="suite-reference-") as scratch:
        worktree = Path(scratch) / "reference"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(worktree),
                        args.reference], cwd=ROOT, check=True)
        try:
            before, before_line = run_suite(worktree, [])
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT,
                           check=False)
    after, after_line = run_suite(ROOT, ["-n", args.workers, "--dist", "loadgroup"])
    print(f"reference {args.reference}, one process: {passed(before_line):,} passed "
          f"in {before:.0f} s")
    print(f"this tree, {args.workers} workers: {passed(after_line):,} passed in {after:.0f} s")
    print(f"speed-up {before / after:.1f}x; goal at most {GOAL_SECONDS:.0f} s: "
          f"{'met' if after <= GOAL_SECONDS else 'missed'}")


if __name__ == "__main__":
    main()
