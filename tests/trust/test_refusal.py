"""Without a sandbox tool the local runner refuses a pull request's code, unless the loud opt-out is set."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.adapters.runners import Bubblewrap, LocalRunner, SandboxUnavailable, Unsandboxed
from bot.ports import TrainingJob
from bot.service.settings import load_settings

JOB = TrainingJob(repo="acme/models", sha="a" * 40, pr=3, branch="x")


def test_a_missing_bwrap_setting_makes_the_runner_refuse_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "bin" / "bwrap"
    monkeypatch.setenv("MLBOT_BWRAP_PATH", str(missing))
    runner = LocalRunner.from_settings(load_settings(data_dir=tmp_path / "data"), "sqlite:///mlflow.db")

    with pytest.raises(SandboxUnavailable) as refused:
        runner.preflight()
    outcome = runner.dispatch(JOB)

    sentence = (f"The local runner will not run a pull request's code without a sandbox, and bubblewrap was not "
                f"found at '{missing}': install it with `apt-get install bubblewrap` (or set "
                f"MLBOT_UNSAFE_UNSANDBOXED_FIT=1 only if every pull request's author is trusted).")
    assert refused.value.message == sentence
    assert (outcome.ok, outcome.run_id, outcome.message, outcome.log_tail) == (False, None, sentence, "")


def test_the_opt_out_is_only_taken_when_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    assert not isinstance(LocalRunner.from_settings(settings, "sqlite://").sandbox, Unsandboxed)
    monkeypatch.setenv("MLBOT_UNSAFE_UNSANDBOXED_FIT", "1")
    runner = LocalRunner.from_settings(load_settings(data_dir=tmp_path / "data"), "sqlite://")
    assert isinstance(runner.sandbox, Unsandboxed)


def test_the_bots_secrets_are_redacted_from_what_the_runner_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLBOT_WEBHOOK_SECRET", "whsec-new,whsec-old")
    monkeypatch.setenv("MLBOT_GITHUB_TOKEN", "ghs_token_value")
    runner = LocalRunner.from_settings(load_settings(), "sqlite://")
    assert runner.safe("a whsec-old b ghs_token_value c") == "a [redacted] b [redacted] c"


def test_the_sandbox_refuses_a_bind_that_would_show_the_bots_data(tmp_path: Path) -> None:
    inside_the_venv = Path(sys.prefix) / "mlbot-data"  # a data dir somewhere the fit needs to read
    sandbox = Bubblewrap(hidden=[inside_the_venv])
    with pytest.raises(SandboxUnavailable) as refused:
        sandbox.prepare(["true"], project=tmp_path, output=tmp_path, scratch=tmp_path, host_env={}, extra_env={})
    assert refused.value.message.startswith(f"The sandbox would expose {inside_the_venv.resolve()} because")


def test_the_runner_refuses_a_sandbox_that_would_show_the_bots_data(tmp_path: Path) -> None:
    inside_the_venv = Path(sys.prefix) / "mlbot-data"
    runner = LocalRunner(clone_url=str(tmp_path / "nothing-cloned"), tracking_uri="sqlite://", cwd=tmp_path,
                         sandbox=Bubblewrap(hidden=[inside_the_venv]))
    outcome = runner.dispatch(JOB)
    assert not outcome.ok and outcome.message.startswith("The sandbox would expose ")
