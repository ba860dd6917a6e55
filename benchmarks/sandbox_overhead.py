"""Benchmark: what the local runner's sandbox costs — bwrap + prlimit around a trivial Python, against Python alone.

Each variant runs `python -c <payload>` through the runner's own process-group helper (the path
`mlbot fit` takes), the variants interleaved so a busy machine slows them alike; the payload is
either nothing (`--runs` times) or `import sklearn.ensemble` (`--heavy-runs` times, what a fit
imports first). The first sandboxed run also pays the one-time probe `Bubblewrap.check` makes.
Run: .venv/bin/python benchmarks/sandbox_overhead.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.adapters.runners.processes import ProcessGroups
from bot.adapters.runners.sandbox import Bubblewrap, Prepared, Unsandboxed

PAYLOADS = {"trivial python": "pass", "import sklearn": "import sklearn.ensemble"}
Variants = dict[str, Callable[[str], Prepared]]


def timings(variants: Variants, payload: str, runs: int) -> dict[str, list[float]]:
    """Return each variant's sorted wall-clock seconds over `runs` interleaved runs of the payload."""
    groups, seconds = ProcessGroups(), {name: [] for name in variants}
    for _ in range(runs):
        for name, prepare in variants.items():
            prepared = prepare(payload)
            start = time.perf_counter()
            finished = groups.run(prepared.argv, env=prepared.env, cwd=prepared.cwd, timeout=120)
            seconds[name].append(time.perf_counter() - start)
            if finished.returncode != 0:
                raise SystemExit(f"the payload failed under {name}: {finished.output}")
    return {name: sorted(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--heavy-runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlbot-bench-") as tmp:
        work = Path(tmp)
        for name in ("project", "output"):
            (work / name).mkdir()
        sandbox, plain = Bubblewrap(), Unsandboxed()
        start = time.perf_counter()
        sandbox.check()
        probe = time.perf_counter() - start

        def variant(box: Bubblewrap | Unsandboxed) -> Callable[[str], Prepared]:
            return lambda code: box.prepare([sys.executable, "-c", code], project=work / "project",
                                            output=work / "output", scratch=work, host_env=os.environ,
                                            extra_env={})

        def bare(code: str) -> Prepared:
            return Prepared([sys.executable, "-c", code], dict(os.environ), work)

        print(f"one-time probe (Bubblewrap.check): {probe * 1000:.1f} ms")
        variants: Variants = {"bare python": bare, "prlimit only (opt-out)": variant(plain),
                              "bwrap + prlimit": variant(sandbox)}
        print(f"{'payload':<16} {'variant':<24} {'median ms':>10} {'p90 ms':>8}  overhead vs bare")
        for (payload_name, code), runs in zip(PAYLOADS.items(), (args.runs, args.heavy_runs), strict=True):
            measured = timings(variants, code, runs)
            base = statistics.median(measured["bare python"])
            for name, seconds in measured.items():
                median, p90 = statistics.median(seconds), seconds[int(0.9 * (len(seconds) - 1))]
                print(f"{payload_name:<16} {name:<24} {median * 1000:>10.1f} {p90 * 1000:>8.1f}"
                      f"  {(median - base) * 1000:+.1f} ms")

if __name__ == "__main__":
    main()
