"""Every workflow and composite action passes actionlint, the action schema and our safety rules."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.scaffold import workflow_template

from .lint import (
    ACTIONS,
    ROOT,
    WORKFLOWS,
    action_metadata_schema,
    actionlint,
    composite_as_workflow,
    jobs_without_permissions,
    load,
    pull_request_target_checkouts,
    unpinned_uses,
)


def test_the_repository_has_its_workflows_and_actions() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "mlbot-train.yml"}
    assert {p.parent.name for p in ACTIONS} == {"fit", "evaluate", "report", "promote"}


def test_actionlint_passes_on_every_workflow_and_composite_action(tmp_path: Path) -> None:
    wrapped = []
    for action in ACTIONS:
        path = tmp_path / f"action-{action.parent.name}.yml"
        path.write_text(yaml.safe_dump(composite_as_workflow(load(action)), sort_keys=False))
        wrapped.append(path)
    assert actionlint([*WORKFLOWS, *wrapped]) == []


def test_actionlint_reports_real_problems(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "permissions: {contents: raed}\n"
        "jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ inputs.nope }}\n"
    )
    kinds = {finding["kind"] for finding in actionlint([broken])}
    assert kinds == {"permissions", "expression"}


def test_actionlint_checks_composite_actions_through_the_wrapper(tmp_path: Path) -> None:
    action = {
        "inputs": {"sha": {"description": "x", "default": "${{ github.sha }}"}},
        "outputs": {"run-id": {"description": "x", "value": "${{ steps.train.outputs.run-id }}"}},
        "runs": {"using": "composite", "steps": [
            {"id": "train", "shell": "bash", "run": "echo", "env": {"A": "${{ inputs.sah }}"}}]},
    }
    path = tmp_path / "wrapped.yml"
    path.write_text(yaml.safe_dump(composite_as_workflow(action)))
    messages = [finding["message"] for finding in actionlint([path])]
    assert len(messages) == 1 and '"sah" is not defined' in messages[0]


@pytest.mark.parametrize("action", ACTIONS, ids=lambda p: p.parent.name)
def test_action_metadata_matches_the_schema(action: Path) -> None:
    doc = load(action)
    errors = [e.message for e in jsonschema.Draft7Validator(action_metadata_schema()).iter_errors(doc)]
    assert errors == []
    assert doc["runs"]["using"] == "composite"
    assert all(spec.get("description") for spec in doc["inputs"].values())
    assert doc["outputs"] and all(spec.get("description") for spec in doc["outputs"].values())


def test_the_schema_rejects_a_broken_action() -> None:
    broken = {"name": "x", "runs": {"using": "composite", "steps": [{"run": "echo hi"}]}}
    assert list(jsonschema.Draft7Validator(action_metadata_schema()).iter_errors(broken))


@pytest.mark.parametrize("action", ACTIONS, ids=lambda p: p.parent.name)
def test_actions_install_mlbot_from_their_own_checkout_and_take_secrets_from_env(action: Path) -> None:
    text = action.read_text()
    doc = load(action)
    assert "${{ github.action_path }}/../.." in text
    assert "secrets." not in text  # secrets reach an action through the caller's env:, never inputs
    setup = [s for s in doc["runs"]["steps"] if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert len(setup) == 1
    for step in doc["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), f"{action}: interpolate through env:, not into scripts"


def test_the_fit_action_caches_pip() -> None:
    fit = load(ROOT / "actions" / "fit" / "action.yml")
    assert fit["runs"]["steps"][0]["with"]["cache"] == "pip"


@pytest.mark.parametrize("path", [*WORKFLOWS, *ACTIONS], ids=lambda p: str(p.relative_to(ROOT)))
def test_third_party_actions_are_pinned_to_full_commit_shas(path: Path) -> None:
    assert unpinned_uses(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_declares_permissions_and_the_default_is_none(path: Path) -> None:
    doc = load(path)
    assert doc["permissions"] == {}
    assert jobs_without_permissions(doc) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_workflow_checks_out_pull_request_code_under_pull_request_target(path: Path) -> None:
    doc = load(path)
    assert "pull_request_target" not in doc["on"]
    assert pull_request_target_checkouts(doc) == []


def test_the_rules_catch_what_they_are_for() -> None:
    bad = yaml.safe_load(
        "on: [pull_request_target]\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "        with: {ref: '${{ github.event.pull_request.head.sha }}'}\n"
        "      - uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065\n"
        "      - uses: ./local\n"
        "  b:\n"
        "    uses: org/repo/.github/workflows/x.yml@main\n"
    )
    bad["on"] = bad.pop(True)
    assert unpinned_uses(bad) == ["actions/checkout@v4", "org/repo/.github/workflows/x.yml@main"]
    assert jobs_without_permissions(bad) == ["a", "b"]
    assert pull_request_target_checkouts(bad) == ["${{ github.event.pull_request.head.sha }}"]


def test_this_repository_runs_the_template_mlbot_init_installs() -> None:
    assert (ROOT / ".github" / "workflows" / "mlbot-train.yml").read_text() == workflow_template()


def test_the_run_name_is_what_the_bot_parses_from_display_title() -> None:
    from bot.handlers.lifecycle import RUN_NAME

    run_name = load(ROOT / ".github" / "workflows" / "mlbot-train.yml")["run-name"]
    values = iter(["a" * 40, "17", "f" * 32])  # what Actions renders for a dispatch with sha, pr and nonce
    title = re.sub(r"\$\{\{[^}]*\}\}", lambda _: next(values), run_name)
    found = RUN_NAME.search(title)
    assert found is not None and found.groups() == ("a" * 40, "17", "f" * 32)


def test_the_training_workflow_contract() -> None:
    doc = load(ROOT / ".github" / "workflows" / "mlbot-train.yml")
    assert set(doc["on"]["workflow_dispatch"]["inputs"]) == {"sha", "pr", "params", "nonce"}
    assert {"pull_request", "push"} <= set(doc["on"])
    # workflow_run webhooks carry display_title, not dispatch inputs: the title ties a run to its PR
    assert "sha=${{ inputs.sha" in doc["run-name"] and "pr=${{ inputs.pr" in doc["run-name"]
    assert "inputs.pr" in doc["concurrency"]["group"]
    checkout = doc["jobs"]["fit"]["steps"][0]
    assert checkout["with"]["ref"] == "${{ inputs.sha || github.event.pull_request.head.sha }}"
    assert checkout["with"]["persist-credentials"] is False
    # the jobs holding a write token never check out pull request code
    for job in ("report", "promote"):
        assert not any("checkout" in str(s.get("uses", "")) for s in doc["jobs"][job]["steps"])
        assert doc["jobs"][job]["permissions"].get("contents") in ("read", "write")
    assert (doc["jobs"]["evaluate"]["needs"], doc["jobs"]["report"]["needs"]) == ("fit", "evaluate")


def test_fit_holds_no_secret_and_evaluate_runs_no_pull_request_code() -> None:
    doc = load(ROOT / ".github" / "workflows" / "mlbot-train.yml")
    fit, evaluate = doc["jobs"]["fit"], doc["jobs"]["evaluate"]
    assert fit["permissions"] == evaluate["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(fit)
    assert [s["run"] for s in fit["steps"] if "run" in s][-1].startswith("mlbot fit ")
    assert any(str(s.get("uses", "")).startswith("actions/upload-artifact@") for s in fit["steps"])
    # evaluate: the PR's commit is checked out under head/ as data; mlbot comes from MLBOT_INSTALL,
    # never from the PR's requirements, and nothing runs with head/ as its working directory
    checkouts = {s["with"]["path"]: s["with"] for s in evaluate["steps"] if "checkout" in str(s.get("uses"))}
    assert set(checkouts) == {"head", "base"}
    assert checkouts["base"]["ref"] == "${{ github.event.pull_request.base.sha || github.sha }}"
    assert all(c["persist-credentials"] is False for c in checkouts.values())
    runs = [s for s in evaluate["steps"] if "run" in s]
    assert not any("requirements" in s["run"] or "working-directory" in s for s in runs)
    assert any(str(s.get("uses", "")).startswith("actions/download-artifact@") for s in evaluate["steps"])
    with_secrets = [s["name"] for s in evaluate["steps"] if "secrets." in yaml.safe_dump(s)]
    assert with_secrets == ["Evaluate, score against production, log to MLflow"]
    assert "--config base/mlbot.yaml" in runs[-1]["run"] and "mlbot evaluate" in runs[-1]["run"]
