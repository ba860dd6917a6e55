"""The policy library mlbot ships (top-level policies/): every policy loads, fits either task, and init offers it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import UsageError
from bot.core.policy import load_policies, validate_against
from bot.scaffold import init_project, library
from tests.cli import run_mlbot

NAMES = ["default", "exploratory", "reviewed", "strict"]


def test_the_library_ships_each_documented_policy() -> None:
    assert sorted(library()) == NAMES
    readme = (Path(__file__).resolve().parents[2] / "policies" / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("metrics", "slices"), [(["roc_auc", "accuracy"], []), (["rmse", "mae"], [])])
def test_every_library_policy_loads_and_fits_any_task(name: str, metrics: list[str], slices: list[str]) -> None:
    policy = load_policies({f"policies/{name}.yaml": library()[name]})
    assert policy.gates and validate_against(policy, metrics, slices) == []


def test_init_writes_the_chosen_policy(tmp_path: Path) -> None:
    (tmp_path / "mlbot.yaml").write_text("model: m\n")  # an existing project: init adds what is missing
    init_project(tmp_path, policy="strict")
    assert (tmp_path / "policies" / "strict.yaml").read_text() == library()["strict"]


def test_an_unknown_policy_name_is_one_sentence_with_the_nearest(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="mlbot ships no policy called 'strickt'") as raised:
        init_project(tmp_path, policy="strickt")
    assert raised.value.hint == "did you mean --policy strict?"


def test_the_cli_offers_the_library(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_mlbot(capsys, "init", str(tmp_path), "--policy", "nope")
    assert result.code == 2 and "it ships default, exploratory, reviewed, strict" in result.err
