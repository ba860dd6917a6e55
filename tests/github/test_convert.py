"""Translations from GitHub answers to ports values and user-facing sentences (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from github.GithubException import GithubException

from bot.adapters.github.convert import check_fields, first_line, permission_from, refusal
from bot.ports import CheckOutput


@pytest.mark.parametrize(("answer", "expected"), [
    ({"permission": "write", "role_name": "maintain"}, "maintain"),
    ({"permission": "read", "role_name": "triage"}, "triage"),
    ({"permission": "admin", "role_name": "admin"}, "admin"),
    ({"permission": "write", "role_name": "custom-deployer"}, "write"),  # custom role: legacy value
    ({"permission": "none"}, "none"),
    ({"permission": "weird", "role_name": "weirder"}, "none"),
])
def test_permission_prefers_the_real_role(answer: dict[str, Any], expected: str) -> None:
    assert permission_from(answer) == expected


def test_refusal_names_the_call_the_status_and_githubs_reason() -> None:
    error = GithubException(422, {"message": "Validation Failed",
                                  "errors": [{"message": "Unexpected inputs provided: [\"x\"]"}]}, {})
    forge_error = refusal(error, "dispatch of workflow train.yml on o/r at main")
    assert forge_error.status == 422
    assert forge_error.message == ('GitHub refused the dispatch of workflow train.yml on o/r at main '
                                   '(422: Validation Failed — Unexpected inputs provided: ["x"])')
    assert forge_error.hint


def test_a_conclusion_completes_the_check_and_output_is_capped() -> None:
    fields = check_fields(status="in_progress", conclusion="neutral",
                          output=CheckOutput("t", "s" * 70_000, "x"), details_url=None)
    assert fields["status"] == "completed"
    assert fields["conclusion"] == "neutral"
    assert len(fields["output"]["summary"]) == 65_535
    assert fields["output"]["text"] == "x"
    assert "details_url" not in fields


@pytest.mark.parametrize(("body", "line"), [
    ("<!-- m -->\nrest", "<!-- m -->"), ("<!-- m -->\r\nrest", "<!-- m -->"), ("", ""), (None, ""),
])
def test_first_line(body: str | None, line: str) -> None:
    assert first_line(body) == line
