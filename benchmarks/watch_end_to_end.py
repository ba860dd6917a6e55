"""Benchmark: `mlbot watch` end to end on one window of 1,000,000 rows × 30 features (issue 16, acceptance 5).

Sets up, in a temporary directory with MLflow on SQLite: a project of 30 standard-normal features
(5,000 training rows, a LogisticRegression), trained with `mlbot train` and promoted with
`mlbot promote`; then a Parquet window of `--rows` rows written by a child process (so this
process's peak memory is the watch's own). It times `bot.training.watch.watch` — safe-load
production, read the window, score it, measure drift and quality, judge the gates, log the
monitoring run — and prints the wall time and this process's peak resident memory.
Run: .venv/bin/python benchmarks/watch_end_to_end.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONFIG = """model: synthetic
task: classification
data: {train: data/train.csv, eval: data/eval.csv, target: label}
train: {estimator: sklearn.linear_model.LogisticRegression, params: {max_iter: 200}}
metrics: [roc_auc, accuracy]
watch: {data: "WINDOW"}
"""
MAKE_WINDOW = """
import sys, numpy as np
from tests.watch.synthetic import frame
frame(np.random.default_rng(3), int(sys.argv[2]), shifted=3).drop(columns=['label']).to_parquet(sys.argv[1])
"""


def mlbot(*argv: str, env: dict[str, str]) -> str:
    code = "import sys; from bot.cli import main; sys.argv[0] = 'mlbot'; main()"
    done = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"mlbot {' '.join(argv)} failed:\n{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    import numpy as np

    from tests.watch.synthetic import frame

    with tempfile.TemporaryDirectory(prefix="mlbot-watch-bench-") as tmp:
        root, window = Path(tmp) / "project", Path(tmp) / "window.parquet"
        (root / "data").mkdir(parents=True)
        rng = np.random.default_rng(0)
        frame(rng, 5000).to_csv(root / "data/train.csv", index=False)
        frame(rng, 1000).to_csv(root / "data/eval.csv", index=False)
        (root / "mlbot.yaml").write_text(CONFIG.replace("WINDOW", str(window)))
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)}
        run_id = mlbot("train", "--project", str(root), "--sha", "a" * 40, "--branch", "main", env=env)
        run_id = run_id.strip().splitlines()[-1].removeprefix("run_id=")
        mlbot("promote", "--project", str(root), "--run", run_id, "--by", "bench", "--force", "--reason", "bench",
              env=env)
        subprocess.run([sys.executable, "-c", MAKE_WINDOW, str(window), str(args.rows)], env=env, check=True)

        from bot.cli.registry import read_policies
        from bot.core.config import load_project
        from bot.training.watch import watch

        project = load_project(root)
        start, cpu = time.perf_counter(), time.process_time()
        result = watch(project, read_policies(root), uri, lambda line: None)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"mlbot watch on {args.rows:,} rows × 30 features: {wall:.2f} s wall ({cpu:.2f} s CPU, first imports of "
          f"mlflow and skops included), peak memory {peak_gb:.2f} GB "
          f"({len(result.report.drifted)} features drifted, healthy={result.healthy}; acceptance < 20 s and < 2 GB)")


if __name__ == "__main__":
    main()
