"""`mlbot watch --refresh ISSUE --post`: the refresh job of mlbot-watch.yml, on a clone of the sandbox repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.watch_report import issue_marker
from tests.github.conftest import REPO

REFRESH = f"{sys.executable} refresh.py"
SCRIPT = """import os
with open("data/train.csv", "a") as rows:
    rows.write("9,north," + "1," * 30 + "1\\n")
with open("data/who.txt", "w") as who:
    token = os.environ.get("GITHUB_TOKEN", "no token")
    who.write(f"{os.environ['MLBOT_REFRESH_BY']} {os.environ['MLBOT_WATCH_ISSUE']} {token}")
"""


@pytest.fixture
def checkout(sandbox, project: Path, tmp_path: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    """The example pushed to the sandbox's main with a `watch.refresh`, cloned like actions/checkout does."""
    config = (project / "mlbot.yaml").read_text() + f'watch:\n  data: "/nowhere/*.csv"\n  refresh: "{REFRESH}"\n'
    files = {str(p.relative_to(project)): p.read_bytes() for p in project.rglob("*") if p.is_file()}
    sandbox.github.push_commit(REPO, "main", {**files, "mlbot.yaml": config, "refresh.py": SCRIPT},
                               "watch with a refresh", author="maya")
    target = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", sandbox.github.store.repo(REPO).path.as_uri(), str(target)],
                   check=True)
    event = tmp_path / "event.json"
    event.write_text("{}")
    for key, value in {"GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "workflow_dispatch",
                       "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": sandbox.api_url, "GITHUB_TOKEN": sandbox.bot_token,
                       "GITHUB_RUN_ID": "4242", "MLBOT_BOT_LOGIN": "mlbot[bot]"}.items():
        monkeypatch.setenv(key, value)
    return target


def test_the_refresh_job_opens_one_pull_request_and_links_it_from_the_issue(  # type: ignore[no-untyped-def]
        cli, checkout: Path, sandbox, forge) -> None:
    issue = forge.create_issue(REPO, "mlbot watch: breast-cancer@production needs attention",
                               issue_marker("breast-cancer", "production") + "\nbody")
    done = cli("watch", "--project", str(checkout), "--refresh", str(issue.number), "--requested-by", "maya",
               "--post")
    assert done.code == 0, done.err
    assert "opened #" in done.out and "2 refreshed file(s)" in done.out
    [pull] = [p for p in sandbox.github.store.pulls.values() if p.head_ref == "mlbot/refresh-breast-cancer-run4242"]
    assert pull.base_ref == "main" and f"watch #{issue.number}" in pull.title
    who = forge.get_file(REPO, "data/who.txt", pull.head_sha)
    assert who == f"maya {issue.number} no token".encode()  # the workflow token stays out of the command
    assert forge.get_file(REPO, "data/train.csv", pull.head_sha).endswith(b"9,north," + b"1," * 30 + b"1\n")
    [said] = [c.body for c in forge.list_comments(REPO, issue.number)]
    assert said.startswith(f"@maya opened #{pull.number} with the refreshed training data (2 files)")


def test_a_refresh_that_changes_nothing_says_so_in_the_issue_and_fails_the_job(  # type: ignore[no-untyped-def]
        cli, checkout: Path, sandbox, forge) -> None:
    config = (checkout / "mlbot.yaml").read_text().replace(REFRESH, "true")
    (checkout / "mlbot.yaml").write_text(config)
    subprocess.run(["git", "-C", str(checkout), "commit", "--quiet", "-am", "no-op refresh"], check=True,
                   env={"GIT_AUTHOR_NAME": "m", "GIT_AUTHOR_EMAIL": "m@x", "GIT_COMMITTER_NAME": "m",
                        "GIT_COMMITTER_EMAIL": "m@x", "PATH": "/usr/bin:/bin"})
    issue = forge.create_issue(REPO, "watch", issue_marker("breast-cancer", "production") + "\nbody")
    done = cli("watch", "--project", str(checkout), "--refresh", str(issue.number), "--requested-by", "maya",
               "--post")
    assert done.code == 1 and "changed no file in the repository" in done.err
    [said] = [c.body for c in forge.list_comments(REPO, issue.number)]
    assert "`/retrain` did not open a pull request" in said


def test_refresh_without_post_is_refused_with_the_way_to_run_it(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    (project / "mlbot.yaml").write_text((project / "mlbot.yaml").read_text() + 'watch:\n  data: "/x/*.csv"\n')
    done = cli("watch", "--project", str(project), "--refresh", "3")
    assert done.code == 2 and "--refresh opens a pull request, so it needs --post" in done.err
