"""What the trust split costs: fit in a child process + safe save + safe load, beside single-process training.

Same data, same estimator, one run each, MLflow on SQLite in a temp dir:
  * single process (mlbot before the split): fit in the evaluating process, score, log;
  * split (`mlbot train` now): `mlbot fit` in a child process writes model.skops, the parent
    safe-loads it, scores, logs.
The bubblewrap sandbox the local runner adds around fit is measured by the runner's own benchmark.

    PYTHONPATH=. python benchmarks/trust_split.py [--example breast-cancer] [--trees 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from bot.core.config import load_project
from bot.training import artifact, safe_model
from bot.training.dataset import load_dataset
from bot.training.evaluate import _score_and_log, evaluate
from bot.training.fit import fit_declarative, fit_in_subprocess
from bot.training.requests import TrainRequest
from bot.training.runcache import library_versions

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def timed(label: str, results: dict[str, float], action: object) -> object:
    start = time.perf_counter()
    value = action()  # type: ignore[operator]
    results[label] = time.perf_counter() - start
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="breast-cancer")
    parser.add_argument("--trees", type=int, default=200)
    args = parser.parse_args()
    quiet = lambda line: None  # noqa: E731
    params = {"n_estimators": args.trees}
    with tempfile.TemporaryDirectory(prefix="mlbot-bench-") as tmp:
        root = Path(tmp)
        project_dir = Path(shutil.copytree(EXAMPLES / args.example, root / "repo"))
        os.chdir(root)  # MLflow puts its artifact root under the cwd
        from bot.adapters.mlflow.runs import RunStore

        store = RunStore(f"sqlite:///{root / 'mlflow.db'}")
        store.production("warm-up", "production")  # the SQLite migrations (~1.5 s) are not training
        project = load_project(project_dir)
        request = TrainRequest(project_dir=project_dir, overrides=params)
        t: dict[str, float] = {}

        # single process: the PR's model object lives in the process that scores and logs
        start = time.perf_counter()
        dataset = load_dataset(project)
        full = {**project.config.train.params, **params}
        model = timed("fit in-process", t, lambda: fit_declarative(project, dataset, full, quiet))
        single_dir = root / "single"
        single_dir.mkdir()
        model_file = safe_model.save(model, single_dir / safe_model.MODEL_FILE)  # only for the logged size
        report = artifact.FitReport(project.config.train.estimator or "", full, t["fit in-process"],
                                    len(dataset.train), library_versions())
        artifact.write_report(single_dir, report)
        run_id = store.start_run(project.config.experiment_name, "single", {"mlbot.status": "running"})
        _score_and_log(project, dataset, model, model_file, report, "bench", store, None, run_id, quiet)
        store.finish_run(run_id, ok=True)
        t["single process, end to end"] = time.perf_counter() - start

        # split: fit in a child process (a fresh interpreter: imports + fit + safe save), then evaluate
        start = time.perf_counter()
        out = root / "split"
        timed("fit in a child process", t, lambda: fit_in_subprocess(project_dir, params, out, quiet,
                                                                     dict(os.environ)))
        t["  of which the fit itself"] = artifact.read_report(out).train_seconds
        timed("safe load", t, lambda: safe_model.load(out / safe_model.MODEL_FILE))
        evaluate(request, out, store.tracking_uri, quiet, store=store)
        t["split, end to end"] = time.perf_counter() - start
        timed("safe save (in the child)", t, lambda: safe_model.save(model, root / "again.skops"))

    rows = len(dataset.train)
    print(f"{args.example}: RandomForest({args.trees} trees), {rows} train rows, one run each")
    for label in ("fit in-process", "fit in a child process", "  of which the fit itself",
                  "safe save (in the child)", "safe load",
                  "single process, end to end", "split, end to end"):
        print(f"  {label:<28} {t[label]:7.2f} s")
    overhead = t["split, end to end"] - t["single process, end to end"]
    print(f"  overhead of the split        {overhead:+7.2f} s "
          f"({overhead / t['single process, end to end']:+.0%} of single-process training)")


if __name__ == "__main__":
    main()
