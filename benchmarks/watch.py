"""Benchmark: the production watch's drift statistics (issue 16, acceptance 3 and 5).

Prints, against the profile of 5,000 reference rows of 30 standard-normal features:
- the false-alarm rate: of 100 windows of 1,000 rows drawn from the reference distribution, how many
  flag any column as drifted (acceptance: at most 5);
- the detection rate: of 100 windows of 1,000 rows with 3 of the 30 features shifted by 0.5 σ, how
  many flag all three (acceptance: at least 95);
- a window of 1,000,000 rows × 30 features: the seconds `measure` takes and the process's peak
  memory (acceptance: under 20 s and 2 GB).
Run: .venv/bin/python benchmarks/watch.py [--seed N] [--windows N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.judge.drift import measure
from tests.watch.synthetic import alarm_rates, columns, frame, reference_profile


def big_window(seed: int, rows: int) -> tuple[float, float, int]:
    """(seconds to judge, peak resident GB, drifted columns) for one window of `rows` × 30."""
    profile = reference_profile()
    window = columns(frame(np.random.default_rng(seed), rows, shifted=3))
    start = time.perf_counter()
    report = measure(profile, window, rows=rows)
    wall = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # kB on Linux
    return wall, peak_gb, len(report.drifted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    alarms, detections = alarm_rates(reference_profile(), args.seed, args.windows)
    print(f"false alarms: {alarms}/{args.windows} windows from the reference flag a column "
          f"({alarms / args.windows:.0%}; acceptance ≤ 5 %)")
    print(f"detection: {detections}/{args.windows} windows with 3 of 30 features shifted 0.5 σ flag all three "
          f"({detections / args.windows:.0%}; acceptance ≥ 95 %)")
    wall, peak, drifted = big_window(args.seed, args.rows)
    print(f"{args.rows:,} rows × 30 features judged in {wall:.2f} s wall, peak memory {peak:.2f} GB "
          f"({drifted} columns drifted; acceptance < 20 s and < 2 GB)")


if __name__ == "__main__":
    main()
