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
from typing import Any

from bot.core.config import Project, load_project
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


def single_process(project: Project, params: dict[str, int], store: Any, out: Path) -> tuple[float, float, Any]:
    """mlbot before the split: the PR's model object lives in the process that scores and logs it."""
    start = time.perf_counter()
    dataset = load_dataset(project)
    full = {**project.config.train.params, **params}
    fitting = time.perf_counter()
    model = fit_declarative(project, dataset, full, lambda line: None)
    fit_seconds = time.perf_counter() - fitting
    out.mkdir()
    model_file = safe_model.save(model, out / safe_model.MODEL_FILE)  # only for the logged size
    report = artifact.FitReport(project.config.train.estimator or "", full, fit_seconds, len(dataset.train),
                                library_versions())
    artifact.write_report(out, report)
    run_id = store.start_run(project.config.experiment_name, "single", {"mlbot.status": "running"})
    _score_and_log(project, dataset, model, model_file, report, "bench", store, None, run_id, lambda line: None)
    store.finish_run(run_id, ok=True)
    return fit_seconds, time.perf_counter() - start, model


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

        # Run the single-process flow once untimed first, so neither side pays first imports.
        for label in ("warm-up", "single process, end to end"):
            t["fit in-process"], t[label], model = single_process(project, params, store, root / label[:6])
        dataset = load_dataset(project)

        # split: fit in a child process (a fresh interpreter: imports + fit + safe save), then evaluate
        start = time.perf_counter()
        out = root / "split"
        timed("fit in a child process", t, lambda: fit_in_subprocess(project_dir, params, out, quiet,
                                                                     dict(os.environ)))
        t["  of which the fit itself"] = artifact.read_report(out).train_seconds
        evaluate(request, out, store.tracking_uri, quiet, store=store)  # safe-loads the model itself
        t["split, end to end"] = time.perf_counter() - start
        timed("safe load", t, lambda: safe_model.load(out / safe_model.MODEL_FILE))
        timed("safe save (in the child)", t, lambda: safe_model.save(model, root / "again.skops"))

    rows = len(dataset.train)
    print(f"{args.example}: RandomForest({args.trees} trees), {rows} train rows, one timed run each")
    for label in ("fit in-process", "fit in a child process", "  of which the fit itself",
                  "safe save (in the child)", "safe load",
                  "single process, end to end", "split, end to end"):
        print(f"  {label:<28} {t[label]:7.2f} s")
    overhead = t["split, end to end"] - t["single process, end to end"]
    print(f"  overhead of the split        {overhead:+7.2f} s "
          f"({overhead / t['single process, end to end']:+.0%} of single-process training)")


if __name__ == "__main__":
    main()
