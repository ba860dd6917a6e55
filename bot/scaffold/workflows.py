"""The training workflow `mlbot init` writes, pinned to the mlbot that wrote it, and `init --upgrade`.

The template installs `${{ vars.MLBOT_INSTALL || 'mlbot-gitops==MLBOT_VERSION' }}`: a placeholder pip
refuses, so an unrendered copy fails loudly instead of installing whatever the package index serves.
`mlbot init` replaces it (and the bare `'mlbot'` defaults of older templates) with the exact release
of the running mlbot (`mlbot-gitops==X.Y.Z`). The repository variable MLBOT_INSTALL still overrides
it (a fork, a git URL at a pinned sha).
"""

from __future__ import annotations

import importlib.resources
import json
import re
from dataclasses import dataclass
from pathlib import Path

from bot import DISTRIBUTION, __version__

WORKFLOW_PATH = Path(".github/workflows/mlbot-train.yml")
WATCH_WORKFLOW_PATH = Path(".github/workflows/mlbot-watch.yml")
DEFAULT_WATCH_CRON = "0 6 * * *"
WORKFLOWS_DIR = Path(".github/workflows")
# What the template installs when nothing is pinned: the default of an expression or a shell expansion.
_BARE_DEFAULTS = (
    re.compile(r"(?<=vars\.MLBOT_INSTALL \|\| ')mlbot(?=')"),
    re.compile(r"(?<=\$\{MLBOT_INSTALL:-)mlbot(?=\})"),
)
_PINNED = re.compile(re.escape(DISTRIBUTION) + r"==[A-Za-z0-9.+!_-]+")


def install_spec(version: str = __version__) -> str:
    """The pip requirement a workflow installs: this distribution at exactly `version`."""
    return f"{DISTRIBUTION}=={version}"


def is_release(version: str = __version__) -> bool:
    """True for a version the package index can serve (X.Y.Z, no dev or local part)."""
    return re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?", version) is not None


def workflow_template(name: str = "mlbot-train.yml") -> str:
    """A canonical workflow (`bot/scaffold/mlbot-train.yml` or `mlbot-watch.yml`), before pinning."""
    return (importlib.resources.files("bot.scaffold") / name).read_text()


def pin_installs(text: str, spec: str) -> str:
    """Replace every bare install default and every older pin of mlbot in `text` with `spec`."""
    for pattern in (*_BARE_DEFAULTS, _PINNED):
        text = pattern.sub(spec, text)
    return text


def render_workflow(branch: str | None, spec: str | None = None) -> str:
    """The workflow for a repository: promoting on pushes to `branch`, installing `spec`."""
    text = pin_installs(workflow_template(), spec or install_spec())
    if branch and branch != "main":
        text = text.replace("    branches: [main]\n", f"    branches: [{json.dumps(branch)}]\n", 1)
    return text


def render_watch_workflow(schedule: str = DEFAULT_WATCH_CRON, spec: str | None = None) -> str:
    """The scheduled watch workflow, running on `schedule` (watch.schedule), installing `spec`."""
    text = pin_installs(workflow_template("mlbot-watch.yml"), spec or install_spec())
    return text.replace(f'    - cron: "{DEFAULT_WATCH_CRON}"', f"    - cron: {json.dumps(schedule)}", 1)


def installed_specs(text: str) -> list[str]:
    """Every pinned mlbot requirement in a workflow's text, in order."""
    return _PINNED.findall(text)


@dataclass(frozen=True)
class Upgrade:
    """What `init --upgrade` did to one workflow file."""

    path: Path
    before: list[str]
    after: str
    changed: bool


def upgrade_workflows(root: Path, spec: str | None = None) -> list[Upgrade]:
    """Move every workflow under `.github/workflows/` that installs mlbot to `spec` (default: this mlbot)."""
    target = spec or install_spec()
    folder = root / WORKFLOWS_DIR
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
    done: list[Upgrade] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        pinned = pin_installs(text, target)
        if pinned == text and not installed_specs(text):
            continue  # not an mlbot workflow
        before = sorted(set(installed_specs(text))) or ["an unpinned mlbot"]
        if pinned != text:
            path.write_text(pinned, encoding="utf-8")
        done.append(Upgrade(path.relative_to(root), before, target, changed=pinned != text))
    return done
