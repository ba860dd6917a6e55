"""The fit stage (untrusted): the PR's config and code produce one model file in the safe format.

`mlbot fit --project DIR --output OUTDIR` writes `OUTDIR/model.skops` and `OUTDIR/fit.json`, and
nothing else: it reads no MLflow store, no GitHub token, no bot setting (SPEC §10).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.core.config import CONFIG_FILE, Project, load_project
from bot.core.errors import ConfigError, Problem, TrainingFailed
from bot.training import artifact
from bot.training.dataset import Dataset

LOG_TAIL_LINES = 40
Progress = Callable[[str], None]
# The only variables the user's code inherits: an allow-list, so a secret under any name stays out.
FIT_ENV_ALLOWED = ("PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH",
                   "VIRTUAL_ENV", "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                   "OPENBLAS_NUM_THREADS", "SYSTEMROOT")


def fit_environment(source: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of untrusted code: allow-listed variables of `source`, plus `extra`."""
    env = {key: source[key] for key in FIT_ENV_ALLOWED if key in source}
    env.update(extra or {})
    # `python` in a command is the interpreter mlbot runs on, with the same libraries installed.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    return env


def fit_declarative(project: Project, dataset: Dataset, params: Mapping[str, Any], progress: Progress) -> Any:
    """Fit the configured estimator inside the preprocessing pipeline."""
    from bot.training import estimators

    path = project.config.train.estimator or ""
    estimator, problems = estimators.make(path, params)
    if problems:
        raise ConfigError(problems, hint="fix train.estimator / train.params (or the --param values)")
    model = estimators.pipeline(estimator, dataset.features("train"))
    progress(f"fitting {type(estimator).__name__} on {len(dataset.train)} rows "
             f"({len(dataset.feature_columns)} features)")
    try:
        model.fit(dataset.features("train"), dataset.labels("train"))
    except Exception as error:  # the user's data or params: say what failed, not where
        raise TrainingFailed(f"fitting {path} failed: {type(error).__name__}: {error}",
                             hint="check the data and train.params") from error
    return model


def command_environment(project: Project, params: Mapping[str, Any], model_path: Path,
                        source: Mapping[str, str]) -> dict[str, str]:
    """What the user's script sees: the data paths, target, params and where to write the model."""
    data = project.config.data
    return fit_environment(source, {
        "MLBOT_MODEL_PATH": str(model_path),
        "MLBOT_TRAIN_PATH": str(project.path(data.train).resolve()),
        "MLBOT_EVAL_PATH": str(project.path(data.eval).resolve()),
        "MLBOT_TARGET": data.target,
        "MLBOT_PARAMS": json.dumps(dict(params), sort_keys=True, default=str),
        "PYTHONUNBUFFERED": "1",
    })


def stream(argv: list[str], cwd: Path, env: Mapping[str, str], echo: Progress) -> tuple[int, list[str]]:
    """Run `argv`, echoing each output line; return its exit code and the last lines."""
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    try:
        process = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace")
    except OSError as error:
        raise TrainingFailed(f"cannot start `{argv[-1]}`: {error}") from None
    assert process.stdout is not None
    for line in process.stdout:
        tail.append(line.rstrip("\n"))
        echo(line.rstrip())
    return process.wait(), list(tail)


def fit_command(project: Project, params: Mapping[str, Any], model_path: Path, progress: Progress,
                source: Mapping[str, str]) -> None:
    """Run `train.command` in the project directory; it must write the safe format to $MLBOT_MODEL_PATH."""
    from bot.training import safe_model

    command = project.config.train.command or ""
    progress(f"running `{command}` in {project.root}")
    code, tail = stream(["/bin/sh", "-c", command], project.root,
                        command_environment(project, params, model_path, source),
                        lambda line: progress(f"  | {line}"))
    log_tail = "\n".join(tail)
    if code != 0:
        raise TrainingFailed(f"`{command}` exited with code {code}", log_tail=log_tail,
                             hint="read its output above, fix the script, and train again")
    if not model_path.is_file():
        raise TrainingFailed(f"`{command}` finished but wrote no model to $MLBOT_MODEL_PATH",
                             log_tail=log_tail, hint=safe_model.SAVE_HINT)
    try:
        safe_model.load(model_path)  # the same check evaluate makes, reported where the author sees it
    except safe_model.UnsafeModel as error:
        raise TrainingFailed(f"`{command}` wrote a model mlbot refuses: {error.message}", log_tail=log_tail,
                             hint=error.hint) from None


def run_fit(project_dir: Path, overrides: Mapping[str, Any], output: Path, progress: Progress,
            source: Mapping[str, str]) -> artifact.FitReport:
    """The whole fit stage: write the model and fit.json into `output`."""
    from bot.training import estimators, safe_model
    from bot.training.dataset import load_dataset
    from bot.training.runcache import library_versions

    project = load_project(project_dir, check_metrics=False)
    config = project.config
    params = {**config.train.params, **overrides}
    output.mkdir(parents=True, exist_ok=True)
    model_path = output / safe_model.MODEL_FILE
    model_path.unlink(missing_ok=True)
    if config.train.mode == "estimator":
        dataset = load_dataset(project)
        estimators.check(project, params)
        started = time.perf_counter()
        model = fit_declarative(project, dataset, params, progress)
        seconds = time.perf_counter() - started  # the fit alone, as train_seconds always measured
        safe_model.save(model, model_path)
        rows: int | None = len(dataset.train)
    else:
        started = time.perf_counter()
        fit_command(project, params, model_path, progress, source)
        seconds, rows = time.perf_counter() - started, None
    report = artifact.FitReport(estimator=config.train.estimator or "command", params=params,
                                train_seconds=seconds, train_rows=rows, versions=library_versions())
    artifact.write_report(output, report)
    return report


def _as_problem(text: str) -> Problem:
    """A `file: key: problem` line the child printed, back as a Problem."""
    parts = text.split(": ", 2)
    if len(parts) == 3:
        return Problem(parts[0], parts[1], parts[2])
    return Problem(parts[0], "", parts[1]) if len(parts) == 2 else Problem(CONFIG_FILE, "", text)


def fit_in_subprocess(project_dir: Path, overrides: Mapping[str, Any], output: Path, echo: Progress,
                      source: Mapping[str, str]) -> None:
    """Run `mlbot fit` in a child process, so the PR's code never shares a process with evaluation."""
    argv = [sys.executable, "-c", "from bot.cli import main; main()", "fit",
            "--project", str(project_dir.resolve()), "--output", str(output.resolve()),
            "--params", json.dumps(dict(overrides), sort_keys=True, default=str)]
    held: list[str] = []  # the child's own error lines: re-raised here once, not printed twice

    def relay(line: str) -> None:
        if line.startswith(("error: ", "  next: ")):
            held.append(line)
        else:
            echo(line)

    code, tail = stream(argv, project_dir, fit_environment(source), relay)
    if code == 0:
        return
    errors = [line.removeprefix("error: ") for line in held if line.startswith("error: ")]
    hints = [line.removeprefix("  next: ") for line in held if line.startswith("  next: ")]
    if code == ConfigError.exit_code and errors:
        raise ConfigError([_as_problem(text) for text in errors], hint=hints[-1] if hints else None)
    failure = TrainingFailed("; ".join(errors) or f"the fit stage exited with code {code}",
                             hint=hints[-1] if hints else None, log_tail="\n".join(tail))
    failure.exit_code = code if code in (1, 2) else 1
    raise failure
