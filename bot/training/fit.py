"""Produce a fitted model: declarative (estimator + preprocessing) or the user's own command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.core.config import Project
from bot.core.errors import ConfigError, TrainingFailed
from bot.service.settings import scrubbed_environment
from bot.training.dataset import Dataset

LOG_TAIL_LINES = 40
Progress = Callable[[str], None]


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


def command_environment(project: Project, params: Mapping[str, Any], model_path: Path) -> dict[str, str]:
    """What the user's script sees: the data paths, target, params and where to write the model."""
    data = project.config.data
    env = scrubbed_environment({
        "MLBOT_MODEL_PATH": str(model_path),
        "MLBOT_TRAIN_PATH": str(project.path(data.train).resolve()),
        "MLBOT_EVAL_PATH": str(project.path(data.eval).resolve()),
        "MLBOT_TARGET": data.target,
        "MLBOT_PARAMS": json.dumps(dict(params), sort_keys=True, default=str),
        "PYTHONUNBUFFERED": "1",
    })
    # `python` in the command is the interpreter mlbot runs on, with the same libraries installed.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def fit_command(project: Project, params: Mapping[str, Any], progress: Progress) -> Any:
    """Run `train.command` in the project directory and load the joblib model it wrote."""
    import joblib

    command = project.config.train.command or ""
    with tempfile.TemporaryDirectory(prefix="mlbot-model-") as tmp:
        model_path = Path(tmp) / "model.joblib"
        progress(f"running `{command}` in {project.root}")
        tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        try:
            process = subprocess.Popen(
                ["/bin/sh", "-c", command], cwd=project.root,
                env=command_environment(project, params, model_path),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        except OSError as error:
            raise TrainingFailed(f"cannot start `{command}`: {error}") from None
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line.rstrip("\n"))
            progress(f"  | {line.rstrip()}")
        code = process.wait()
        log_tail = "\n".join(tail)
        if code != 0:
            raise TrainingFailed(f"`{command}` exited with code {code}", log_tail=log_tail,
                                 hint="read its output above, fix the script, and train again")
        if not model_path.is_file():
            raise TrainingFailed(f"`{command}` finished but wrote no model to $MLBOT_MODEL_PATH",
                                 log_tail=log_tail, hint="save the fitted model with joblib.dump(model, "
                                 "os.environ['MLBOT_MODEL_PATH'])")
        try:
            model = joblib.load(model_path)
        except Exception as error:  # whatever the user's pickle raises
            raise TrainingFailed(f"cannot load the model `{command}` wrote: {type(error).__name__}: {error}",
                                 log_tail=log_tail) from error
    if not hasattr(model, "predict"):
        raise TrainingFailed(f"`{command}` wrote a {type(model).__name__}, which has no predict()",
                             hint="write a fitted scikit-learn compatible model with joblib")
    return model
