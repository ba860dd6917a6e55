"""How much a run-cache hit saves: `mlbot train` on the breast-cancer example, each in a fresh process.

    .venv/bin/python benchmarks/run_cache.py [--project examples/breast-cancer] [--hits 3]

Prints the wall time of a first training on a fresh temporary SQLite store (store migrations
included), of a forced retraining on the now-warm store, and of cache hits, and their ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MLBOT = [sys.executable, "-c", "from bot.cli import main; main()"]


def timed_train(project: Path, workdir: Path, *extra: str) -> tuple[float, str]:
    """Run `mlbot train` as a user would, in a new process; return seconds and its stdout."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"}
    started = time.perf_counter()
    done = subprocess.run([*MLBOT, "train", "--project", str(project), "--sha", "0" * 40, *extra],
                          cwd=workdir, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"mlbot train failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT / "examples" / "breast-cancer")
    parser.add_argument("--hits", type=int, default=3, help="cache hits to time (the median is reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlbot-bench-") as tmp:
        workdir = Path(tmp)
        fresh, out = timed_train(args.project, workdir)
        assert "trained run" in out, out
        forced, out = timed_train(args.project, workdir, "--force")
        assert "trained run" in out, out
        hits = []
        for _ in range(args.hits):
            seconds, out = timed_train(args.project, workdir)
            assert "reused run" in out, out
            hits.append(seconds)
    hit = statistics.median(hits)
    print(f"project: {args.project.name} (each `mlbot train` in a fresh process, temporary SQLite store)")
    print(f"first training (new store):      {fresh:7.2f} s")
    print(f"forced retraining (warm store):  {forced:7.2f} s")
    print(f"cache hit (median of {len(hits)}):        {hit:7.2f} s   {', '.join(f'{h:.2f}' for h in hits)}")
    print(f"speed-up of a hit: {fresh / hit:5.1f}x vs first training, "
          f"{forced / hit:5.1f}x vs forced retraining")


if __name__ == "__main__":
    main()
