"""Runners: Actions dispatch inputs; the local runner's checkout, sandboxed fit, trusted evaluate and limits.

`mlbot fit` and `mlbot evaluate` are stood in for by small real scripts (the runner takes their argv
prefixes), so these tests pin the runner's contract, not the training code.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import textwrap
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.runners import ActionsRunner, Bubblewrap, LocalRunner, Unsandboxed, evaluate_argv, parse_run_id
from bot.adapters.runners.local import remove_tree
from bot.adapters.runners.processes import LINE_CHARS, TAIL_LINES, ProcessGroups
from bot.ports import TrainingJob
from tests.lifecycle.helpers import git
from tests.sandboxing import bwrap

__all__ = ["bwrap"]
SECRETS = ("MLBOT_GITHUB_TOKEN", "MLBOT_GITHUB_PRIVATE_KEY", "MLBOT_WEBHOOK_SECRET", "GITHUB_TOKEN")


@dataclass
class Origin:
    url: str
    main_sha: str
    pr_sha: str  # reachable only through refs/pull/7/head, like a fork's head


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    """A bare repository with `main` and a pull request head that lives on no branch."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    (work / "model.txt").write_text("v1\n")
    (work / "mlbot.yaml").write_text("model: from-main\n")
    (work / "policies").mkdir()
    (work / "policies" / "gates.yaml").write_text("gates: []\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "v1")
    main_sha = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "-b", "fork")
    (work / "model.txt").write_text("v2 from a fork\n")
    (work / "mlbot.yaml").write_text("model: from-the-pr\n")
    (work / "policies" / "gates.yaml").write_text("gates: [anything goes]\n")
    git(work, "commit", "-q", "-am", "v2")
    pr_sha = git(work, "rev-parse", "HEAD")
    bare = tmp_path / "acme" / "models.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(work, "push", "-q", str(bare), "main", f"{pr_sha}:refs/pull/7/head")
    return Origin(str(tmp_path / "{repo}.git"), main_sha, pr_sha)


# The stand-in for `mlbot fit` (in the sandbox): records what it saw into its output dir, as a model file.
FIT = textwrap.dedent("""
    import json, os, subprocess, sys
    args = sys.argv[1:]
    project, output = args[args.index("--project") + 1], args[args.index("--output") + 1]
    remotes = subprocess.run(["git", "remote"], cwd=project, capture_output=True, text=True).stdout
    with open(os.path.join(output, "fit.json"), "w") as out:
        json.dump({"args": args, "env": dict(os.environ), "cwd": os.getcwd(), "remotes": remotes,
                   "model": open(os.path.join(project, "model.txt")).read()}, out)
    print("fitting...")
""")
# The stand-in for `mlbot evaluate` (trusted): records its own view and the fit's, prints the run id line.
EVALUATE = textwrap.dedent("""
    import json, os, sys
    record, args = sys.argv[1], sys.argv[2:]
    model, config, policies = args[args.index("--model") + 1], None, None
    if "--config" in args:
        config = open(args[args.index("--config") + 1]).read()
        policies = open(os.path.join(args[args.index("--policies") + 1], "gates.yaml")).read()
    with open(record, "w") as out:
        json.dump({"args": args, "env": dict(os.environ), "cwd": os.getcwd(), "config": config, "policies": policies,
                   "fit": json.load(open(os.path.join(model, "fit.json")))}, out)
    print("evaluating...")
    print("run_id=0123abcd")
""")


def job(sha: str, *, pr: int | None = 7, params: Mapping[str, object] | None = None) -> TrainingJob:
    return TrainingJob(repo="acme/models", sha=sha, pr=pr, branch="feature/x", trigger="command",
                       params=dict(params or {}))


def runner(origin: Origin, tmp_path: Path, *, fit: str = FIT, evaluate: str = EVALUATE, **options: Any) -> LocalRunner:
    """A local runner whose fit and evaluate are the given Python sources."""
    return LocalRunner(clone_url=origin.url, tracking_uri="sqlite:////tmp/x.db", cwd=tmp_path,
                       fit_command=[sys.executable, "-c", fit],
                       evaluate_command=[sys.executable, "-c", evaluate, str(tmp_path / "record.json")],
                       **options)


@pytest.mark.usefixtures("bwrap")
def test_the_fit_runs_sandboxed_and_the_evaluate_gets_only_the_tracking_uri(
    origin: Origin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for secret in SECRETS:
        monkeypatch.setenv(secret, "s3cret-value")
    monkeypatch.setenv("SOMETHING_ELSE", "not on the allow-list")

    outcome = runner(origin, tmp_path).dispatch(job(origin.pr_sha, params={"n_estimators": 300}))

    assert (outcome.ok, outcome.run_id) == (True, "0123abcd"), outcome
    assert outcome.log_tail == "fitting...\nevaluating...\nrun_id=0123abcd"
    seen = json.loads((tmp_path / "record.json").read_text())
    fit = seen["fit"]
    assert fit["model"] == "v2 from a fork\n"
    assert fit["remotes"] == ""  # the clone URL (and any credentials in it) is gone
    assert fit["cwd"] == "/mlbot/project"
    assert fit["args"] == ["fit", "--project", "/mlbot/project", "--output", "/mlbot/output",
                           "--params", '{"n_estimators": 300}']
    assert fit["env"]["HOME"] == "/tmp/home"
    assert not [key for key in fit["env"] if key.startswith(("MLBOT_", "MLFLOW_", "GITHUB", "SOMETHING"))]
    # evaluate: mlbot's side, with the tracking URI and the base branch's config, never a GitHub secret
    assert seen["env"]["MLFLOW_TRACKING_URI"] == "sqlite:////tmp/x.db"
    assert not [key for key in seen["env"] if key.startswith(("MLBOT_", "GITHUB", "SOMETHING"))]
    assert (seen["config"], seen["policies"]) == ("model: from-main\n", "gates: []\n")  # the base's rules
    assert seen["cwd"] == str(tmp_path)
    project = Path(seen["args"][seen["args"].index("--project") + 1])
    assert not project.exists()  # the throwaway checkout is removed afterwards
    assert not project.is_relative_to(tmp_path)  # and it never lived in the bot's data dir
    assert seen["args"][5:] == ["--config", seen["args"][6], "--policies", seen["args"][8], "--repo", "acme/models",
                                "--sha", origin.pr_sha,
                                "--branch", "feature/x", "--trigger", "command", "--params",
                                '{"n_estimators": 300}', "--pr", "7", "--tempfail-exit"]


@pytest.mark.usefixtures("bwrap")
def test_a_failing_fit_is_reported_and_nothing_is_evaluated(origin: Origin, tmp_path: Path) -> None:
    script = "import sys; print('loading data'); print('KeyError: label', file=sys.stderr); sys.exit(3)"
    outcome = runner(origin, tmp_path, fit=script).dispatch(job(origin.main_sha, pr=None))
    assert (outcome.ok, outcome.run_id, outcome.message) == (False, None, "Fitting the model exited with code 3.")
    assert outcome.log_tail == "loading data\nKeyError: label"
    assert not (tmp_path / "record.json").exists()


@pytest.mark.usefixtures("bwrap")
def test_a_failing_evaluate_is_reported(origin: Origin, tmp_path: Path) -> None:
    fit = "import os, sys; open(sys.argv[sys.argv.index('--output') + 1] + '/model.skops', 'w').write('m')"
    outcome = runner(origin, tmp_path, fit=fit, evaluate="raise SystemExit('refusing: not a safe model')").dispatch(
        job(origin.main_sha))
    assert (outcome.ok, outcome.message) == (False, "Evaluating the model exited with code 1.")
    assert outcome.log_tail == "refusing: not a safe model"


@pytest.mark.usefixtures("bwrap")
def test_the_runner_needs_a_run_id(origin: Origin, tmp_path: Path) -> None:
    outcome = runner(origin, tmp_path, fit="pass", evaluate="print('done')").dispatch(job(origin.main_sha))
    assert (outcome.ok, outcome.message) == (False, "Training finished but did not report an MLflow run id.")


@pytest.mark.usefixtures("bwrap")
def test_a_link_left_in_the_output_is_refused_before_evaluate_reads_it(origin: Origin, tmp_path: Path) -> None:
    fit = "import os, sys; os.symlink('/etc/hostname', sys.argv[sys.argv.index('--output') + 1] + '/fit.json')"
    outcome = runner(origin, tmp_path, fit=fit).dispatch(job(origin.main_sha))
    assert (outcome.ok, outcome.message) == (
        False, "The fit stage left fit.json in its output, which is not a plain file.")
    assert not (tmp_path / "record.json").exists()


@pytest.mark.usefixtures("bwrap")
def test_a_fit_past_the_deadline_is_killed_with_everything_it_started(origin: Origin, tmp_path: Path) -> None:
    # the grandchild keeps stdout open: unless the whole tree dies, reading the output would hang
    script = ("import subprocess, sys, time; print('started', flush=True); "
              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); time.sleep(120)")
    outcome = runner(origin, tmp_path, fit=script, timeout=1.0).dispatch(job(origin.main_sha))
    assert (outcome.ok, outcome.message) == (False, "Training timed out after 1 s and was stopped.")
    assert outcome.log_tail in ("started", "")  # a busy machine may not have started it within the second


def test_the_runner_refuses_without_a_sandbox_tool(origin: Origin, tmp_path: Path) -> None:
    missing = str(tmp_path / "no" / "bwrap")
    outcome = runner(origin, tmp_path, sandbox=Bubblewrap(missing)).dispatch(job(origin.main_sha))
    assert not outcome.ok
    assert outcome.message == (
        f"The local runner will not run a pull request's code without a sandbox, and bubblewrap was not found at "
        f"'{missing}': install it with `apt-get install bubblewrap` (or set MLBOT_UNSAFE_UNSANDBOXED_FIT=1 only "
        f"if every pull request's author is trusted).")
    assert not (tmp_path / "record.json").exists()


def test_the_unsafe_opt_out_runs_unsandboxed_and_warns_every_time(
    origin: Origin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MLBOT_WEBHOOK_SECRET", "s3cret-value")
    unsafe = runner(origin, tmp_path, sandbox=Unsandboxed())
    with caplog.at_level(logging.WARNING, logger="mlbot.runners"):
        first, second = unsafe.dispatch(job(origin.main_sha)), unsafe.dispatch(job(origin.main_sha))
    assert first.ok and second.ok, (first, second)
    warnings = [r.getMessage() for r in caplog.records if "MLBOT_UNSAFE_UNSANDBOXED_FIT" in r.getMessage()]
    assert len(warnings) == 2 and "WITHOUT a sandbox" in warnings[0]
    fit = json.loads((tmp_path / "record.json").read_text())["fit"]
    assert "MLBOT_WEBHOOK_SECRET" not in fit["env"]  # still an allow-listed environment, still limits


def test_stop_all_refuses_new_work(origin: Origin, tmp_path: Path) -> None:
    local = runner(origin, tmp_path, sandbox=Unsandboxed())
    assert local.stop_all() == 0
    outcome = local.dispatch(job(origin.main_sha))
    assert (outcome.ok, outcome.message) == (
        False, "Training was stopped because mlbot is shutting down; comment `/retrain` to run it again.")


def test_stop_all_kills_a_running_group(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    os.mkfifo(ready)
    groups = ProcessGroups()
    script = ("import subprocess, sys, time; subprocess.Popen(['sleep', '600']); "
              f"open({str(ready)!r}, 'w').write('up'); time.sleep(600)")
    results = []
    worker = threading.Thread(target=lambda: results.append(groups.run(
        [sys.executable, "-c", script], env=dict(os.environ), cwd=tmp_path, timeout=600)))
    worker.start()
    assert ready.read_text() == "up"  # blocks until the command is running
    assert groups.stop_all() == 1
    worker.join()
    [finished] = results
    assert (finished.returncode, finished.stopped, finished.timed_out) == (None, True, False)


def test_the_runner_explains_an_unknown_commit(origin: Origin, tmp_path: Path) -> None:
    outcome = runner(origin, tmp_path, sandbox=Unsandboxed()).dispatch(job("f" * 40))
    assert (outcome.ok, outcome.message) == (False, "I could not check out fffffff of acme/models.")
    assert outcome.log_tail.startswith("git checkout: ")


def test_clone_errors_hide_credentials(tmp_path: Path) -> None:
    local = LocalRunner(clone_url="http://x-access-token:ghs_secret@127.0.0.1:9/{repo}.git",
                        tracking_uri="sqlite://", cwd=tmp_path, sandbox=Unsandboxed(),
                        fit_command=[sys.executable, "-c", "pass"])
    outcome = local.dispatch(job("a" * 40))
    assert not outcome.ok
    assert outcome.log_tail.startswith("git clone: ")
    assert "ghs_secret" not in outcome.log_tail


@pytest.mark.usefixtures("bwrap")
def test_logs_are_redacted_of_the_bots_secrets(origin: Origin, tmp_path: Path) -> None:
    fit = "print('token was hunter2-not-really and ghp_' + 'a' * 36)"
    local = runner(origin, tmp_path, fit=fit, evaluate="print('run_id=r1')", secrets=["hunter2-not-really"])
    outcome = local.dispatch(job(origin.main_sha))
    assert outcome.ok, outcome
    assert outcome.log_tail.splitlines()[0] == "token was [redacted] and [redacted]"


@pytest.mark.parametrize(
    ("output", "run_id"),
    [
        ("run_id=abc\n", "abc"),
        ("noise\nrun_id=first\nmore\nrun_id=second\n", "second"),
        ("the run_id=abc is inline\n", None),
        ("run_id=\n", None),
        ("", None),
    ],
)
def test_parse_run_id(output: str, run_id: str | None) -> None:
    assert parse_run_id(output) == run_id


def test_evaluate_argv_for_a_manual_run() -> None:
    argv = evaluate_argv(job("c" * 40, pr=None), Path("/tmp/p"), Path("/tmp/o"), None)
    assert argv == ["evaluate", "--project", "/tmp/p", "--model", "/tmp/o", "--repo", "acme/models",
                    "--sha", "c" * 40, "--branch", "feature/x", "--trigger", "command", "--params", "{}",
                    "--tempfail-exit"]


class RecordingForge:
    """Records `dispatch_workflow` calls (the only Forge method ActionsRunner uses)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, str]]] = []

    def dispatch_workflow(self, repo: str, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        self.calls.append((repo, workflow, ref, dict(inputs)))


def test_actions_runner_dispatches_on_the_default_branch_with_the_sha_as_input() -> None:
    forge = RecordingForge()
    pr_job = TrainingJob(repo="acme/models", sha="d" * 40, pr=12, branch="feat", params={"max_depth": None,
                         "n_estimators": 50}, default_branch="trunk", workflow="train.yml")
    assert ActionsRunner(forge).dispatch(pr_job) is None  # type: ignore[arg-type]
    params = '{"max_depth": null, "n_estimators": 50}'
    inputs = {"sha": "d" * 40, "pr": "12", "params": params}
    assert forge.calls == [("acme/models", "train.yml", "trunk", inputs)]


def test_a_command_that_cannot_start_is_a_failed_stage(tmp_path: Path) -> None:
    finished = ProcessGroups().run([str(tmp_path / "no-such-mlbot")], env={}, cwd=tmp_path, timeout=10)
    assert (finished.returncode, finished.output) == (
        127, f"cannot start {tmp_path / 'no-such-mlbot'}: No such file or directory")


def test_output_is_kept_as_a_bounded_tail_of_cut_lines(tmp_path: Path) -> None:
    script = ("import sys; sys.stdout.write('x' * 5_000_000 + '\\n'); "
              "[print(n) for n in range(1000)]; sys.stdout.write('y' * 3000)")
    finished = ProcessGroups().run([sys.executable, "-c", script], env=dict(os.environ), cwd=tmp_path, timeout=60)
    lines = finished.output.splitlines()
    assert len(lines) == TAIL_LINES
    assert lines[-2:] == ["999", "y" * LINE_CHARS]


def test_the_job_tree_is_removed_even_where_the_fit_locked_itself_in(tmp_path: Path) -> None:
    # as root, modes do not bind and this passes anyway; as the bot's own user, plain rmtree leaves it behind
    tree = tmp_path / "job"
    (tree / "output" / "locked" / "deeper").mkdir(parents=True)
    (tree / "output" / "locked" / "deeper" / "model.skops").write_text("m")
    (tree / "output" / "locked" / "deeper").chmod(0)
    (tree / "output" / "locked").chmod(0)
    remove_tree(tree)
    assert not tree.exists()


@pytest.mark.usefixtures("bwrap")
def test_mlflow_down_while_evaluating_hands_the_job_back_to_the_queue(origin: Origin, tmp_path: Path) -> None:
    from bot.core.errors import Transient

    down = 'import sys; print("error: MLflow at http://mlflow:5000 is unreachable", file=sys.stderr); sys.exit(75)'
    with pytest.raises(Transient, match="could not reach MLflow") as raised:
        runner(origin, tmp_path, evaluate=down).dispatch(job(origin.pr_sha))
    assert raised.value.dependency == "MLflow"  # the queue waits it out and runs the training again
