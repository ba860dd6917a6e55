"""The local runner's watch and refresh: the default branch's checkout, the allow-listed environment, outcomes.

`mlbot watch` is stood in for by a small real script (the runner takes its argv prefix), so these
tests pin the runner's contract; tests/watch/test_local_watch_flow.py runs the real one. The refresh
command is real: a shell command in a real clone.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.adapters.runners import ActionsRunner, LocalRunner
from bot.core.errors import Transient
from bot.core.types import RefreshJob, WatchJob
from bot.core.watch_report import WatchSummary
from tests.handlers.fakes import CONFIG, FakeForge
from tests.lifecycle.helpers import git
from tests.watch.test_issue import summary

SECRET = "s3cret-token-value"
CREDENTIALS = ("MLBOT_GITHUB_TOKEN", "MLBOT_GITHUB_PRIVATE_KEY", "MLBOT_WEBHOOK_SECRET", "GITHUB_TOKEN", "GH_TOKEN")
WATCH = 'watch:\n  data: "/data/prod/*.csv"\n'
REPO = "acme/churn"

# The stand-in for `mlbot watch`: records what it saw next to itself, then behaves as its first argument says.
STAND_IN = textwrap.dedent("""
    import json, os, subprocess, sys, time
    mode, args = sys.argv[1], sys.argv[2:]
    project, output = args[args.index("--project") + 1], args[args.index("--output") + 1]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    remotes = subprocess.run(["git", "remote"], cwd=project, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(os.path.dirname(sys.argv[0]), "seen.json"), "w") as record:
        json.dump({"args": args, "env": dict(os.environ), "cwd": os.getcwd(), "head": head, "remotes": remotes,
                   "config": open(os.path.join(project, "mlbot.yaml")).read()}, record)
    print("loaded churn v3 (production) with the safe loader", file=sys.stderr)
    if mode in ("healthy", "drifted"):
        with open(output, "w") as out:
            out.write(os.environ["SUMMARY"] if "SUMMARY" in os.environ else open(sys.argv[0] + ".json").read())
        sys.exit(0 if mode == "healthy" else 1)
    if mode == "nothing":
        print("churn has no production version in the registry, so there is nothing to watch; nothing to watch yet",
              file=sys.stderr)
        sys.exit(0)
    if mode == "mlflow-down":
        print("error: MLflow at http://mlflow:5000 is unreachable (connection refused)", file=sys.stderr)
        sys.exit(75)
    if mode == "slow":
        time.sleep(30)
    print("error: mlbot.yaml: watch.data: '/data/prod/*.csv' matches no file; key "
          + os.environ.get("AWS_SECRET_ACCESS_KEY", ""), file=sys.stderr)
    sys.exit(2)
""")


def make_origin(tmp_path: Path, extra: str = "", files: dict[str, str] | None = None) -> tuple[Path, str]:
    """A repository whose `main` holds mlbot.yaml (CONFIG + `extra`) and a little data; (its path, main's sha)."""
    work = tmp_path / "origin"
    (work / "data").mkdir(parents=True)
    (work / "mlbot.yaml").write_text(CONFIG + extra)
    (work / "data" / "train.csv").write_text("x,label,region\n1,0,eu\n2,1,us\n")
    (work / "data" / "eval.csv").write_text("x,label,region\n3,1,eu\n")
    for name, text in (files or {}).items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "init", "-q")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "main")
    return work, git(work, "rev-parse", "HEAD")


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The bot's environment: its credentials set, so the tests can see they never reach the job."""
    for name in CREDENTIALS:
        monkeypatch.setenv(name, SECRET)
    monkeypatch.setenv("AWS_PROFILE", "warehouse")  # a data store's variable: the window command needs it
    return dict(os.environ)


@pytest.fixture
def stand_in(tmp_path: Path) -> Callable[[str], list[str]]:
    """The argv prefix running the stand-in `mlbot watch` in a mode; it writes a drifted window's summary."""
    folder = tmp_path / "standin"
    folder.mkdir()
    script = folder / "mlbot_watch.py"
    script.write_text(STAND_IN)
    (folder / "mlbot_watch.py.json").write_text(json.dumps(summary(False, (True,)).to_json()))
    return lambda mode: [sys.executable, str(script), mode]


def seen(tmp_path: Path) -> dict[str, object]:
    record: dict[str, object] = json.loads((tmp_path / "standin" / "seen.json").read_text())
    return record


def runner(tmp_path: Path, origin: Path, command: list[str] | None = None, **options: object) -> LocalRunner:
    data = tmp_path / "bot-data"
    data.mkdir(exist_ok=True)
    return LocalRunner(clone_url=str(origin), tracking_uri=f"sqlite:///{data / 'mlflow.db'}", cwd=data,
                       watch_command=command, secrets=[SECRET], **options)  # type: ignore[arg-type]


def watch_job(sha: str = "main") -> WatchJob:
    return WatchJob(REPO, "main", sha, "2026-12-06T06:00Z")


# --- watch ---------------------------------------------------------------------------------------------------


def test_a_drifted_window_comes_back_with_its_summary(tmp_path: Path, host: dict[str, str],
                                                      stand_in: Callable[[str], list[str]]) -> None:
    origin, sha = make_origin(tmp_path, WATCH)
    local = runner(tmp_path, origin, stand_in("drifted"))

    outcome = local.watch(watch_job())

    assert outcome.ok and outcome.summary is not None  # exit 1: a blocking gate fails, and the window was judged
    assert WatchSummary.from_json(outcome.summary) == summary(False, (True,))
    assert outcome.message.startswith("churn@production v3 needs attention") and "no feature drifted" in outcome.message
    assert "loaded churn v3" in outcome.log_tail and f"main {sha[:7]}" in outcome.log_tail
    record = seen(tmp_path)
    assert record["head"] == sha and record["remotes"] == ""  # the default branch's head, no way back to origin
    assert record["config"] == CONFIG + WATCH  # judged by the default branch's own mlbot.yaml
    assert record["cwd"] == str(tmp_path / "bot-data")  # the bot's data dir, like evaluate
    env = record["env"]
    assert isinstance(env, dict) and env["MLFLOW_TRACKING_URI"] == local.tracking_uri
    assert env["AWS_PROFILE"] == "warehouse"
    assert not [name for name in env if name in CREDENTIALS or name.startswith("MLBOT_")]
    args = record["args"]
    assert isinstance(args, list) and "--tempfail-exit" in args
    assert not Path(args[args.index("--project") + 1]).exists()  # the checkout is gone after the job


def test_a_healthy_window_and_a_window_with_nothing_to_watch(tmp_path: Path, host: dict[str, str],
                                                             stand_in: Callable[[str], list[str]]) -> None:
    origin, _ = make_origin(tmp_path, WATCH)
    healthy = summary(True)
    (tmp_path / "standin" / "mlbot_watch.py.json").write_text(json.dumps(healthy.to_json()))
    outcome = runner(tmp_path, origin, stand_in("healthy")).watch(watch_job())
    assert outcome.ok and outcome.summary is not None and WatchSummary.from_json(outcome.summary) == healthy
    assert outcome.message == "churn@production v3 is healthy on a window of 1000 rows."

    nothing = runner(tmp_path, origin, stand_in("nothing")).watch(watch_job())
    assert nothing.ok and nothing.summary is None
    assert nothing.message.startswith("There is nothing to watch in acme/churn yet (churn has no production version")


def test_mlflow_down_is_transient(tmp_path: Path, host: dict[str, str], stand_in: Callable[[str], list[str]]) -> None:
    origin, _ = make_origin(tmp_path, WATCH)
    with pytest.raises(Transient) as raised:
        runner(tmp_path, origin, stand_in("mlflow-down")).watch(watch_job())
    assert raised.value.dependency == "MLflow" and "unreachable" in raised.value.message


def test_a_failing_watch_says_why_in_one_sentence_with_secrets_redacted(
        tmp_path: Path, host: dict[str, str], stand_in: Callable[[str], list[str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)  # the data store's key reaches the job, and its output
    origin, _ = make_origin(tmp_path, WATCH)
    outcome = runner(tmp_path, origin, stand_in("broken")).watch(watch_job())
    assert not outcome.ok and outcome.summary is None
    assert outcome.message == ("mlbot watch exited with code 2 (mlbot.yaml: watch.data: '/data/prod/*.csv' "
                               "matches no file; key [redacted]).")
    assert "matches no file" in outcome.log_tail and SECRET not in outcome.log_tail


def test_a_watch_over_its_time_is_stopped(tmp_path: Path, host: dict[str, str],
                                          stand_in: Callable[[str], list[str]]) -> None:
    origin, _ = make_origin(tmp_path, WATCH)
    outcome = runner(tmp_path, origin, stand_in("slow"), timeout=2.0).watch(watch_job())
    assert not outcome.ok and outcome.message == "The watch of acme/churn timed out after 2 s and was stopped."


def test_a_named_commit_is_checked_out_and_a_bad_one_is_a_sentence(tmp_path: Path, host: dict[str, str],
                                                                   stand_in: Callable[[str], list[str]]) -> None:
    origin, first = make_origin(tmp_path, WATCH)
    (origin / "README.md").write_text("later\n")
    git(origin, "add", ".")
    git(origin, "commit", "-q", "-m", "later")
    local = runner(tmp_path, origin, stand_in("drifted"))
    assert local.watch(watch_job(first)).ok and seen(tmp_path)["head"] == first
    missing = local.watch(watch_job("f" * 40))
    assert not missing.ok and missing.message == "I could not check out main of acme/churn."
    assert "is not a commit or branch of acme/churn" in missing.log_tail
    unreachable = runner(tmp_path, tmp_path / "nowhere", stand_in("drifted")).watch(watch_job())
    assert not unreachable.ok and "git clone" in unreachable.log_tail


# --- refresh -------------------------------------------------------------------------------------------------


def refresh_job() -> RefreshJob:
    return RefreshJob(REPO, "main", "main", issue=12, by="maya", comment_id=99)


def with_refresh(command: str) -> str:
    return WATCH + f"  refresh: {json.dumps(command)}\n"


def test_a_refresh_returns_the_rewritten_training_data_and_sees_no_credentials(tmp_path: Path,
                                                                               host: dict[str, str]) -> None:
    notes = tmp_path / "refresh-saw.txt"
    command = (f'{{ pwd; echo "remotes=[$(git remote)]"; echo "issue=$MLBOT_WATCH_ISSUE by=$MLBOT_REFRESH_BY"; '
               f'env | cut -d= -f1; }} > {notes} && printf "x,label,region\\n7,1,eu\\n8,0,us\\n" > data/train.csv && '
               f'mkdir -p data/2026 && cp data/eval.csv data/2026/eval-copy.csv && rm data/eval.csv')
    origin, _ = make_origin(tmp_path, with_refresh(command))

    outcome = runner(tmp_path, origin).refresh(refresh_job())

    assert outcome.ok, outcome.message
    assert outcome.files == {"data/train.csv": b"x,label,region\n7,1,eu\n8,0,us\n",
                             "data/2026/eval-copy.csv": b"x,label,region\n3,1,eu\n", "data/eval.csv": None}
    assert outcome.message == ("The refresh changed 3 files: data/2026/eval-copy.csv, data/eval.csv, "
                               "data/train.csv.")
    where, remotes, asked, *names = notes.read_text().splitlines()
    assert where.endswith("/project") and "mlbot-refresh-" in where and not Path(where).exists()
    assert remotes == "remotes=[]" and asked == "issue=12 by=maya"
    assert "AWS_PROFILE" in names and not [n for n in names if n in CREDENTIALS or n.startswith("MLBOT_GITHUB")]


def test_a_refresh_that_changes_nothing_or_a_workflow_proposes_nothing(tmp_path: Path, host: dict[str, str]) -> None:
    origin, _ = make_origin(tmp_path, with_refresh("echo all fresh already"))
    idle = runner(tmp_path, origin).refresh(refresh_job())
    assert not idle.ok and idle.files == {} and "changed no file" in idle.message
    assert "all fresh already" in idle.log_tail

    sneaky = tmp_path / "sneaky"
    sneaky.mkdir()
    origin, _ = make_origin(sneaky, with_refresh("mkdir -p .github/workflows && echo 'on: push' > "
                                                 ".github/workflows/x.yml && echo 1 >> data/train.csv"))
    refused = runner(sneaky, origin).refresh(refresh_job())
    assert not refused.ok and refused.files == {} and ".github/workflows/x.yml" in refused.message


def test_a_failing_refresh_says_so_with_its_log_redacted(tmp_path: Path, host: dict[str, str]) -> None:
    origin, _ = make_origin(tmp_path, with_refresh(f"echo 'warehouse said: bad token {SECRET}'; exit 3"))
    outcome = runner(tmp_path, origin).refresh(refresh_job())
    assert not outcome.ok and outcome.files == {}
    assert outcome.message.startswith("The refresh command `echo") and outcome.message.endswith("exited with code 3.")
    assert "warehouse said: bad token" in outcome.log_tail and SECRET not in outcome.log_tail


def test_a_refresh_that_commits_itself_is_refused(tmp_path: Path, host: dict[str, str]) -> None:
    command = ("echo 1 >> data/train.csv && git -c user.name=r -c user.email=r@example.com commit -qam refreshed")
    origin, _ = make_origin(tmp_path, with_refresh(command))
    outcome = runner(tmp_path, origin).refresh(refresh_job())
    assert not outcome.ok and "committed or checked out something itself" in outcome.message


def test_no_refresh_command_is_a_sentence(tmp_path: Path, host: dict[str, str]) -> None:
    origin, _ = make_origin(tmp_path, WATCH)
    outcome = runner(tmp_path, origin).refresh(refresh_job())
    assert not outcome.ok and outcome.message == ("mlbot.yaml on main sets no `watch.refresh`, so there is no "
                                                  "data-refresh command to run (docs/watch.md).")


# --- Actions -------------------------------------------------------------------------------------------------


def test_the_actions_runner_dispatches_the_watch_workflow_for_a_watch_and_a_refresh() -> None:
    forge = FakeForge()
    actions = ActionsRunner(forge)  # type: ignore[arg-type]
    actions.watch(watch_job())
    actions.refresh(refresh_job())
    assert [c for c in forge.calls if c[0] == "dispatch_workflow"] == [
        ("dispatch_workflow", "mlbot-watch.yml", "main", {}),
        ("dispatch_workflow", "mlbot-watch.yml", "main", {"refresh": "12", "requested_by": "maya"})]
