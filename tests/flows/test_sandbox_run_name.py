"""The sandbox renders a workflow's `run-name:` for a dispatch as Actions does (`a || b || c`)."""

from __future__ import annotations

import pytest

from bot.sandbox.ci import _display_title, evaluate_or
from bot.scaffold import workflow_template

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(("expression", "inputs", "expected"), [
    ("inputs.sha", {"sha": SHA}, SHA),
    (" github.event.inputs.sha ", {"sha": SHA}, SHA),
    ("inputs.sha || github.event.pull_request.head.sha || github.sha", {"sha": SHA}, SHA),
    ("inputs.pr || github.event.pull_request.number", {"pr": ""}, ""),
    ("github.event.pull_request.number || inputs.pr", {"pr": "7"}, "7"),
    ("inputs.missing || 'fallback'", {}, "fallback"),
    ("'it''s'", {}, "it's"),
    ("github.sha", {"sha": SHA}, ""),
])
def test_or_expressions_take_the_first_non_empty_operand(expression: str, inputs: dict[str, str],
                                                         expected: str) -> None:
    assert evaluate_or(expression, inputs) == expected


def test_the_template_run_name_carries_the_dispatched_sha_pr_and_nonce() -> None:
    nonce = "f" * 32
    title = _display_title(workflow_template(), "mlbot", {"sha": SHA, "pr": "12", "params": "{}", "nonce": nonce})
    assert title == f"mlbot train sha={SHA} pr=12 nonce={nonce}"
    manual = _display_title(workflow_template(), "mlbot", {"sha": SHA, "pr": ""})
    assert manual == f"mlbot train sha={SHA} pr= nonce="  # no nonce: the bot counts no such run


def test_a_workflow_without_run_name_is_titled_by_its_name() -> None:
    assert _display_title("name: ci\non: push\n", "ci", {"sha": SHA}) == "ci"
