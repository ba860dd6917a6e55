"""`mlbot init`: plan the files that set a repository up for mlbot, then write them safely.

Planning reads the user's data file and returns the exact bytes of every file; applying writes
only what is missing (or everything with `force`), so a second run changes nothing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from bot.core.errors import UsageError

from .config import ProjectSpec, model_name, render_config
from .data import (
    SPLIT_SEED,
    check_target,
    data_entries,
    default_metrics,
    guess_target,
    guess_task,
    read_table,
    split_rows,
    table_bytes,
)
from .policy import default_policy, library, library_policy, render_policy
from .workflows import (
    WATCH_WORKFLOW_PATH,
    WORKFLOW_PATH,
    install_spec,
    is_release,
    render_watch_workflow,
    render_workflow,
    upgrade_workflows,
    workflow_template,
)

__all__ = [
    "ProjectSpec",
    "default_policy",
    "guess_task",
    "install_spec",
    "library",
    "library_policy",
    "render_workflow",
    "split_rows",
    "upgrade_workflows",
    "workflow_template",
]

POLICY_PATH = Path("policies/default.yaml")
GITIGNORE_PATH = Path(".gitignore")
# What `mlbot train` and the local MLflow store write into a repository.
IGNORED = ("mlruns/", "mlartifacts/", "mlflow.db", ".mlbot/")
CONFIG_PATH = Path("mlbot.yaml")

Action = Literal["created", "unchanged", "overwritten", "kept", "updated"]


@dataclass(frozen=True)
class PlannedFile:
    """One file `init` wants at `path` (relative to the repository root).

    `extends` marks content that keeps the existing file and adds to it (.gitignore): it is
    written without --force.
    """

    path: Path
    content: bytes
    what: str
    extends: bool = False


@dataclass(frozen=True)
class Outcome:
    path: Path
    action: Action
    what: str


@dataclass(frozen=True)
class InitResult:
    """What `init` did to each file, plus the assumptions it made."""

    outcomes: list[Outcome]
    notes: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)  # the data files mlbot.yaml names, to commit

    @property
    def changed(self) -> bool:
        return any(o.action in ("created", "overwritten", "updated") for o in self.outcomes)


def default_branch(root: Path) -> str | None:
    """The branch pushes promote from: origin's HEAD, else the checked-out branch (None outside git)."""
    for ref in ("refs/remotes/origin/HEAD", "HEAD"):
        try:
            out = subprocess.run(["git", "-C", str(root), "symbolic-ref", "--short", ref],
                                 capture_output=True, text=True, check=False, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().removeprefix("origin/")
    return None


def gitignore(root: Path) -> PlannedFile:
    """`.gitignore` with an entry for everything mlbot writes, keeping what is there."""
    path = root / GITIGNORE_PATH
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    present = {line.strip() for line in existing.splitlines()}
    missing = [entry for entry in IGNORED if entry not in present and entry.rstrip("/") not in present]
    if not missing:
        return PlannedFile(GITIGNORE_PATH, existing.encode(), "ignores what mlbot writes", extends=True)
    head = existing if not existing or existing.endswith("\n") else existing + "\n"
    block = "# written by mlbot (runs, the local MLflow store, locks)\n" + "".join(f"{m}\n" for m in missing)
    return PlannedFile(GITIGNORE_PATH, (head + ("\n" if head else "") + block).encode(),
                       "ignores what mlbot writes", extends=True)


def data_inputs(root: Path, *paths: str) -> list[str]:
    """`train.inputs` for a new project: src/ when present, the data's locations, mlbot.yaml."""
    return [*(["src/"] if (root / "src").is_dir() else []), *data_entries(*paths), "mlbot.yaml"]


def _relative(root: Path, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def plan_data(root: Path, data: Path, eval_data: Path | None, target: str | None,
              ) -> tuple[list[PlannedFile], ProjectSpec, list[str]]:
    """Plan the data files and the project spec from the user's data."""
    frame = read_table(data)
    if frame.empty or len(frame.columns) < 2:
        raise UsageError(f"{data} needs a header row, a target column and at least one feature and row")
    notes: list[str] = []
    if target is None:
        target = guess_target([str(c) for c in frame.columns])
        notes.append(f"assumed the target column is {target!r} (pass --target to choose)")
    check_target(frame, target, data)
    planned: list[PlannedFile] = []
    suffix = data.suffix.lower() if data.suffix.lower() in (".parquet", ".pq") else ".csv"
    if eval_data is None:
        train_rel, eval_rel = f"data/train{suffix}", f"data/eval{suffix}"
        if _relative(root, data) in (train_rel, eval_rel):
            raise UsageError(f"{data} would be overwritten by the train/eval split",
                             hint="pass the evaluation rows with --eval FILE, or rename the file")
        train_frame, eval_frame = split_rows(frame)
        planned += [PlannedFile(Path(train_rel), table_bytes(train_frame, suffix), "training rows"),
                    PlannedFile(Path(eval_rel), table_bytes(eval_frame, suffix), "evaluation rows")]
        notes.append(f"split {data.name} deterministically: {len(train_frame)} training rows, "
                     f"{len(eval_frame)} evaluation rows (seed {SPLIT_SEED})")
    else:
        check_target(read_table(eval_data), target, eval_data)
        rels = []
        for source, kind in ((data, "train"), (eval_data, "eval")):
            rel = _relative(root, source)
            if rel is None:  # outside the repository: copy it in, unchanged
                rel = f"data/{kind}{source.suffix.lower()}"
                planned.append(PlannedFile(Path(rel), source.read_bytes(), f"{kind} rows (copied)"))
            rels.append(rel)
        train_rel, eval_rel = rels
    task = guess_task(frame[target])
    n_classes = int(frame[target].nunique(dropna=True))
    features = [str(c) for c in frame.columns if c != target]
    slices = [c for c in features
              if not pd.api.types.is_float_dtype(frame[c]) and 1 < frame[c].nunique() <= 12]
    target_std = float(frame[target].std()) if task == "regression" else None
    spec = ProjectSpec(model=model_name(root), task=task, train=train_rel, eval=eval_rel, target=target,
                       features=features, metrics=default_metrics(task, n_classes),
                       inputs=data_inputs(root, train_rel, eval_rel), slice_candidates=slices,
                       target_std=target_std)
    notes.append(f"guessed task {task!r} from {target!r} ({n_classes} distinct values)")
    return planned, spec, notes


def plan_init(root: Path, *, data: Path | None = None, eval_data: Path | None = None,
              target: str | None = None, policy_name: str = "default",
              ) -> tuple[list[PlannedFile], list[str], list[str]]:
    """Every file `init` wants, with its bytes, notes on what was assumed, and the data files named."""
    if data is None and (target is not None or eval_data is not None):
        raise UsageError("--target and --eval describe a data file", hint="pass it with --data FILE")
    planned: list[PlannedFile] = []
    notes: list[str] = []
    data_files_named: list[str] = []
    policy = library_policy(policy_name)
    if data is not None:
        data_files, spec, notes = plan_data(root, data, eval_data, target)
        planned += data_files
        planned.append(PlannedFile(CONFIG_PATH, render_config(spec).encode(), "project configuration"))
        data_files_named = [spec.train, spec.eval]
        policy, policy_note = render_policy(spec.task, spec.target, spec.target_std, policy_name)
        notes += [policy_note] if policy_note else []
    elif not (root / CONFIG_PATH).exists():
        raise UsageError("mlbot init needs your data to write mlbot.yaml",
                         hint="run `mlbot init --data FILE --target COLUMN`")
    planned.append(PlannedFile(POLICY_PATH.with_name(f"{policy_name}.yaml"), policy.encode(),
                               "default gates" if policy_name == "default" else f"gates ({policy_name} policy)"))
    branch = default_branch(root)
    if branch is None:
        notes.append(f"{root} is not a git repository (or has no branch yet): the workflow promotes on "
                     "pushes to `main`; edit `branches:` in it if your default branch has another name")
    planned.append(PlannedFile(WORKFLOW_PATH, render_workflow(branch).encode(), "training workflow"))
    planned.append(PlannedFile(WATCH_WORKFLOW_PATH, render_watch_workflow().encode(),
                               "scheduled production watch (idle until `watch:` is set in mlbot.yaml)"))
    if not is_release():
        notes.append(f"this mlbot ({install_spec()}) is not a release on the package index: set the "
                     "repository variable MLBOT_INSTALL to what the workflow should install")
    planned.append(gitignore(root))
    return planned, notes, data_files_named


def apply_plan(root: Path, planned: Sequence[PlannedFile], *, force: bool = False) -> list[Outcome]:
    """Write the planned files; an existing file is kept unless `force` (identical ones are untouched)."""
    outcomes: list[Outcome] = []
    for item in planned:
        target = root / item.path
        if target.exists():
            if target.read_bytes() == item.content:
                outcomes.append(Outcome(item.path, "unchanged", item.what))
                continue
            if not force and not item.extends:
                outcomes.append(Outcome(item.path, "kept", item.what))
                continue
        action: Action = ("updated" if item.extends else "overwritten") if target.exists() else "created"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.content)
        outcomes.append(Outcome(item.path, action, item.what))
    return outcomes


def init_project(root: Path, *, data: Path | None = None, eval_data: Path | None = None,
                 target: str | None = None, force: bool = False, policy: str = "default") -> InitResult:
    """Scaffold mlbot into the repository at `root`, with the shipped policy `policy`."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory", hint="create it (and `git init` it) first")
    planned, notes, named = plan_init(root, data=data, eval_data=eval_data, target=target, policy_name=policy)
    return InitResult(apply_plan(root, planned, force=force), notes, named)


def commit_list(data: Sequence[str]) -> str:
    """The files and folders `init` asks the user to commit, data first as mlbot.yaml names it."""
    return ", ".join([*data_entries(*data), "mlbot.yaml", "policies/", ".gitignore", WORKFLOW_PATH.as_posix(),
                      WATCH_WORKFLOW_PATH.as_posix()])


def next_steps(root: Path, data: Sequence[str] = ()) -> list[str]:
    """What the user does after `init`: check, commit, secrets, and how to connect the bot."""
    in_git = (root / ".git").exists()
    return [
        f"review mlbot.yaml and {POLICY_PATH.as_posix()}, then run `mlbot check {root}`",
        ("" if in_git else "run `git init`, then ") + f"commit {commit_list(data)} and push",
        "set the repository secret MLFLOW_TRACKING_URI (plus MLFLOW_TRACKING_USERNAME/PASSWORD or "
        "MLFLOW_TRACKING_TOKEN if your server needs them): `gh secret set MLFLOW_TRACKING_URI`",
        f"Actions-only mode works now: pull requests train and get a report, merges promote; the "
        f"workflow installs {install_spec()} (`mlbot init --upgrade` moves it to a newer mlbot; the "
        "repository variable MLBOT_INSTALL overrides it)",
        "to use the bot server instead: point a GitHub App or webhook (pull_request, issue_comment, "
        "workflow_run, pull_request_review) at https://<your-host>/webhook and run "
        "`gh variable set MLBOT_MODE --body bot` so the workflow only runs when the bot dispatches it",
    ]
