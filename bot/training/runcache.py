"""The run-cache key: what a training run depends on, hashed (never the sha, PR or branch).

Cheap on purpose: it imports neither scikit-learn nor MLflow, so a cache hit stays fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from bot import DISTRIBUTION
from bot.core.config import CONFIG_FILE, Project
from bot.core.errors import ConfigError, Problem

LIBRARIES = ("scikit-learn", "mlflow", "numpy", "pandas", DISTRIBUTION)
# Skipped while walking input directories: VCS data, caches and MLflow's own local stores.
SKIP_NAMES = frozenset({"__pycache__", "mlruns", "mlartifacts", "mlflow.db", "node_modules"})


def library_versions() -> dict[str, str]:
    """Python's version and the installed versions of the libraries a model depends on."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def skipped(name: str) -> bool:
    """Whether a path part is VCS data, a cache or MLflow's own store (not an input)."""
    return name.startswith(".") or name in SKIP_NAMES


def _files(root: Path, relative: str) -> list[Path]:
    target = (root / relative).resolve()
    if target.is_file():
        return [target]
    return [path for path in sorted(target.rglob("*"))
            if path.is_file() and not any(skipped(part) for part in path.relative_to(target).parts)]


def _escaping(root: Path, paths: list[Path]) -> list[Path]:
    """Files under an input directory that are symlinks resolving outside the checkout."""
    return [path for path in paths if root not in path.resolve().parents]


def hash_inputs(project: Project) -> dict[str, str]:
    """sha256 of every file under `train.inputs`, keyed by its path relative to the project."""
    root = project.root.resolve()
    digests: dict[str, str] = {}
    problems = []
    data = project.config.data
    data_files = {Path(data.train).as_posix(): "data.train", Path(data.eval).as_posix(): "data.eval"}
    for index, relative in enumerate(project.config.input_paths):
        key = f"train.inputs[{index}]" if project.config.train.inputs is not None else "train.inputs"
        if not (root / relative).exists():
            data_key = data_files.get(Path(relative).as_posix())
            # a missing data file is the data: key's problem, worded as loading the data says it
            problems.append(
                Problem(CONFIG_FILE, data_key, f"data file {project.path(relative)} does not exist") if data_key
                else Problem(CONFIG_FILE, key, f"{relative!r} does not exist in {project.root}"))
            continue
        files = _files(root, relative)
        escaping = _escaping(root, files)
        for path in escaping:
            problems.append(Problem(CONFIG_FILE, key, f"{path.relative_to(root)} is a symlink to "
                                    f"{path.resolve()}, outside the repository; copy the file in instead"))
        for path in (path for path in files if path not in escaping):
            relative_path = Path(os.path.relpath(path, root)).as_posix()
            digests[relative_path] = hashlib.sha256(path.read_bytes()).hexdigest()
    if problems:
        raise ConfigError(problems, hint="list files or directories that exist, relative to mlbot.yaml")
    return dict(sorted(digests.items()))


def normalised_config(project: Project) -> dict[str, Any]:
    """The parts of mlbot.yaml that change what is trained or measured (not ci/commands/promote)."""
    config = project.config
    train = config.train.model_dump(mode="json", exclude={"params"})
    train["inputs"] = config.input_paths
    return {"model": config.model, "task": config.task, "experiment": config.experiment_name,
            "data": config.data.model_dump(mode="json"), "train": train, "metrics": config.metric_names}


def cache_key(config: Mapping[str, Any], params: Mapping[str, Any], inputs: Mapping[str, str],
              versions: Mapping[str, str]) -> str:
    """sha256 of the canonical JSON of everything a run depends on."""
    payload = {"config": config, "params": params, "inputs": inputs, "versions": versions}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def project_cache_key(project: Project, params: Mapping[str, Any]) -> str:
    """The run-cache key of training `project` with `params`."""
    return cache_key(normalised_config(project), params, hash_inputs(project), library_versions())
