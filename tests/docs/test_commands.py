"""Every shell command the README and the docs show runs as shown, or says here why it is not run.

Each page's commands run in order, with bash, in a scratch git repository holding a copy of
examples/ and breast_cancer.csv (the file the getting-started pages point `mlbot init` at), with
`mlbot` on PATH from this checkout and MLflow on the default SQLite file in that repository. The
registry page is run from inside a copy of examples/breast-cancer whose production model was
trained and promoted first; its placeholder commit `1a2b3c4` is a real, trained commit there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from .pages import ROOT, Command, commands, pages

# Commands a page shows that this test does not run, each with the reason.
NOT_RUN: list[tuple[str, str]] = [
    (r"^make (demo|test|docs|sandbox-tool)\b", "builds .venv and plays the demo, the suite or the site: CI runs "
                                              "`make test`, tests/docs builds the site, tests/demo and "
                                              "tests/packaging play the demo"),
    (r"^source \.venv/bin/activate$", "changes the reader's shell; here `mlbot` is on PATH already"),
    (r"^pipx? install (-c \S+ )?mlbot-gitops\b",
     "installs from PyPI; tests/packaging installs the wheel built from here"),
    (r"^gh (secret|variable) set ", "changes a repository on github.com"),
    (r"^export ", "sets the environment of `mlbot serve`, which is not run here"),
    (r"^mlbot serve\b", "a server that runs until it is stopped; tests/service runs it"),
    (r"^mlbot worker --workers\b", "a worker that runs until it is stopped; tests/service runs it"),
    (r"^mlbot sandbox\b", "a server that runs until it is stopped; tests/sandbox runs it"),
    (r"^(sudo )?(apt-get|dnf) install\b", "installs a system package; `make sandbox-tool` does it for the tests"),
    (r"^mlbot worker --requeue\b", "needs the id of a delivery that failed; tests/reliability requeues one"),
    (r"^mlbot watch\b", "needs a promoted model and production data; tests/watch/test_watch_flow.py runs it"),
]
# Documented exit codes other than 0 (SPEC: 1 means "refused" or "not promotable", never a usage error).
EXIT_CODES: list[tuple[str, set[int]]] = [(r"^mlbot (gates|promote|rollback)\b", {0, 1})]
PLACEHOLDER_SHA = "1a2b3c4"


def reason_not_run(command: Command) -> str | None:
    return next((why for pattern, why in NOT_RUN if re.search(pattern, command.text)), None)


def allowed_codes(command: Command) -> set[int]:
    return next((codes for pattern, codes in EXIT_CODES if re.search(pattern, command.text)), {0})


def runnable(page: Path) -> list[Command]:
    return [c for c in commands(page) if reason_not_run(c) is None]


def _ids(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_every_command_shown_is_an_mlbot_command_or_has_a_reason() -> None:
    unexplained = [f"{c.page.name}:{c.line}: {c.text}" for page in pages() for c in runnable(page)
                   if not c.text.startswith("mlbot ")]
    assert unexplained == []
    assert any(runnable(page) for page in pages())


class Scratch:
    """A scratch repository and an environment where `mlbot` is this checkout's."""

    def __init__(self, root: Path) -> None:
        self.root = root
        bindir = root.parent / "bin"
        bindir.mkdir(exist_ok=True)
        wrapper = bindir / "mlbot"
        wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -c "
                           "'import sys; from bot.cli import main; sys.argv[0] = \"mlbot\"; main()' \"$@\"\n")
        wrapper.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLBOT_", "MLFLOW_"))}
        self.env = {**env, "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}", "PYTHONPATH": str(ROOT),
                    "GIT_AUTHOR_NAME": "docs", "GIT_AUTHOR_EMAIL": "docs@example.com",
                    "GIT_COMMITTER_NAME": "docs", "GIT_COMMITTER_EMAIL": "docs@example.com"}
        self.substitutions: dict[str, str] = {}

    def sh(self, script: str) -> subprocess.CompletedProcess[str]:
        for placeholder, value in self.substitutions.items():
            script = script.replace(placeholder, value)
        return subprocess.run(["bash", "-c", script], cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=600, check=False)

    def must(self, script: str) -> str:
        done = self.sh(script)
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def commit(self, message: str) -> str:
        self.must(f"git add -A && git commit -q -m {message!r}")
        return self.must("git rev-parse HEAD").strip()


def a_repository(tmp_path: Path) -> Scratch:
    """A git repository with examples/ and breast_cancer.csv, as the getting-started pages assume."""
    scratch = Scratch(tmp_path / "repo")
    shutil.copytree(ROOT / "examples", scratch.root / "examples")
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame.to_csv(scratch.root / "breast_cancer.csv", index=False)
    scratch.must("git init -q -b main .")
    scratch.commit("start")
    return scratch


def a_project_in_production(tmp_path: Path) -> Scratch:
    """examples/breast-cancer as a repository: v1 in production, a bigger forest trained on top."""
    scratch = Scratch(tmp_path / "breast-cancer")
    shutil.copytree(ROOT / "examples" / "breast-cancer", scratch.root)
    scratch.must("git init -q -b main .")
    first = scratch.commit("baseline")
    # Forced: the example's latency gate measures wall-clock time, and the setup must not hinge on load.
    scratch.must(f"mlbot train && mlbot promote --sha {first} --force --reason baseline")
    config = scratch.root / "mlbot.yaml"
    config.write_text(config.read_text().replace("n_estimators: 200", "n_estimators: 300"))
    scratch.substitutions[PLACEHOLDER_SHA] = scratch.commit("More trees")
    scratch.must("mlbot train")
    return scratch


SCRATCH: dict[str, Callable[[Path], Scratch]] = {"registry.md": a_project_in_production}


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in pages() if runnable(p)], ids=_ids)
def test_the_commands_a_page_shows_run_as_shown(page: Path, tmp_path: Path) -> None:
    scratch = SCRATCH.get(page.name, a_repository)(tmp_path)
    for command in runnable(page):
        done = scratch.sh(command.text)
        shown = f"{_ids(page)}:{command.line}: {command.text}\n{done.stdout}\n{done.stderr}"
        assert done.returncode in allowed_codes(command), shown
        assert "Traceback" not in done.stderr and "something unexpected" not in done.stderr, shown
