"""Releases and installs: the release workflow publishes by trusted publishing, and nothing installs a bare name."""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.scaffold import render_workflow

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
# .github/workflows/mlbot-train.yml is this repository's copy of the unrendered template (its
# install default is the token `mlbot init` replaces); what users get is the rendered file below.
INSTALLERS = [p for p in sorted((ROOT / ".github" / "workflows").glob("*.y*ml")) if p.name != "mlbot-train.yml"]
ACTIONS = sorted((ROOT / "actions").glob("*/action.yml"))
PUBLISH = "pypa/gh-action-pypi-publish@"


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return dict(doc)


def steps_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        return list(doc["runs"]["steps"])
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def bare_installs(doc: dict[str, Any]) -> list[str]:
    """Every `pip install` argument that names a package without an exact version."""
    found = []
    for step in steps_of(doc):
        env = {k: str(v) for k, v in (step.get("env") or {}).items()}
        for command in re.findall(r"pip install ([^\n;&|]+)", str(step.get("run", ""))):
            words = shlex.split(command)
            for before, word in zip(["", *words], words, strict=False):
                if word.startswith("-") or before in ("-r", "--requirement"):
                    continue
                variable = re.fullmatch(r"\$\{?(\w+)(:-([^}]*))?\}?", word)
                value = env.get(variable.group(1), "") if variable else word
                if variable and variable.group(3):
                    value += " " + variable.group(3)
                if variable and variable.group(1) == "MLBOT_SOURCE":
                    continue  # the action's own checkout, pinned by the caller's @sha
                if not (word.startswith("dist/") or "==" in value):
                    found.append(f"{word} ({value})" if variable else word)
    return found


def test_the_release_is_built_checked_and_tried_before_it_is_published() -> None:
    doc = load(RELEASE)
    assert doc["on"] == {"push": {"tags": ["v*"]}}
    build, publish = doc["jobs"]["build"], doc["jobs"]["publish"]
    script = "\n".join(str(step.get("run", "")) for step in build["steps"])
    assert "python -m build" in script and "twine check --strict dist/*" in script
    assert 'mlbot" --version' in script and 'mlbot" check "$GITHUB_WORKSPACE/examples/breast-cancer"' in script
    assert build["steps"][0]["with"]["fetch-depth"] == 0  # the version comes from the tag
    assert publish["needs"] == "build"


def test_publishing_uses_trusted_publishing_and_no_token() -> None:
    publish = load(RELEASE)["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    step = next(s for s in publish["steps"] if str(s.get("uses", "")).startswith(PUBLISH))
    assert re.fullmatch(re.escape(PUBLISH) + "[0-9a-f]{40}", step["uses"])
    assert "with" not in step  # no password, no API token
    assert "secrets." not in RELEASE.read_text()


@pytest.mark.parametrize("path", [*INSTALLERS, *ACTIONS], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_workflow_or_action_installs_a_bare_package_name(path: Path) -> None:
    assert bare_installs(load(path)) == []


def test_the_scaffolded_workflow_installs_an_exact_version(tmp_path: Path) -> None:
    rendered = tmp_path / "mlbot-train.yml"
    rendered.write_text(render_workflow("main", "mlbot-gitops==1.2.3"))
    assert bare_installs(load(rendered)) == []
    assert "'mlbot-gitops==1.2.3'" in rendered.read_text()


def test_the_bare_install_rule_catches_what_it_is_for(tmp_path: Path) -> None:
    unpinned = {"jobs": {"a": {"steps": [
        {"run": "python -m pip install mlbot"},
        {"env": {"MLBOT_INSTALL": "${{ vars.MLBOT_INSTALL || 'mlbot' }}"}, "run": 'pip install "$MLBOT_INSTALL"'},
        {"run": 'pip install "${MLBOT_INSTALL:-mlbot}" -r requirements.txt'},
        {"run": "pip install build==1.6.1 -r requirements.txt"},
    ]}}}
    assert bare_installs(unpinned) == ["mlbot", "$MLBOT_INSTALL (${{ vars.MLBOT_INSTALL || 'mlbot' }})",
                                       "${MLBOT_INSTALL:-mlbot} ( mlbot)"]


def test_dependabot_keeps_every_pinned_action_current() -> None:
    config = ROOT / ".github" / "dependabot.yml"
    checked = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.dependabot",
                              str(config)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    update = next(u for u in yaml.safe_load(config.read_text())["updates"]
                  if u["package-ecosystem"] == "github-actions")
    patterns = update["directories"]
    assert "/" in patterns  # .github/workflows/
    for action in ACTIONS:
        folder = f"/{action.parent.relative_to(ROOT).as_posix()}"
        assert any(fnmatch.fnmatch(folder, pattern) for pattern in patterns), folder
