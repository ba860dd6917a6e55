"""Pull requests from forks: nothing of theirs runs until a writer says /ok-to-retrain for that commit."""

from __future__ import annotations

from tests.conftest import EXAMPLES
from tests.flows.conftest import BETTER, OUTSIDER, REPO, REVIEWER, Flow, with_params

FORK = f"{OUTSIDER}/breast-cancer"


def train_check(flow: Flow, sha: str) -> tuple[str | None, str]:
    """(conclusion, title) of the newest mlbot/train check on `sha`; no check there may have failed."""
    runs = [r for r in flow.github.check_runs(REPO, sha) if r.name == "mlbot/train"]
    assert runs and all(r.conclusion != "failure" for r in runs)
    newest = max(runs, key=lambda r: r.id)
    return newest.conclusion, newest.output.get("title", "")


def test_a_fork_waits_for_ok_to_retrain_and_waits_again_after_a_push(flow: Flow) -> None:
    flow.github.fork(REPO, FORK)
    config = with_params((EXAMPLES / "breast-cancer" / "mlbot.yaml").read_text(), BETTER)
    first = flow.github.push_commit(FORK, "bigger-forest", {"mlbot.yaml": config}, "More trees", author=OUTSIDER)
    number = flow.github.open_pull(REPO, "bigger-forest", "main", "More trees", OUTSIDER, from_fork=FORK)
    flow.settle()
    assert train_check(flow, first) == ("neutral", "Waiting for approval")
    [waiting] = [c for c in flow.bot_comments(number) if "<!-- mlbot:waiting" in c]
    assert "comes from a fork" in waiting and "/ok-to-retrain" in waiting
    assert flow.runs_of(first) == [] and flow.reports(number) == []

    # neither the fork's author nor a stranger can approve or start training
    own = flow.say(number, "/ok-to-retrain", OUTSIDER)
    retrain = flow.say(number, "/retrain", OUTSIDER)
    flow.settle()
    replies = flow.replies(number, own)
    assert any("I did not run `/ok-to-retrain`: /ok-to-retrain needs write permission" in r for r in replies)
    assert any("I did not run `/retrain`" in r and "comes from a fork" in r for r in replies)
    assert flow.reactions(own) == flow.reactions(retrain) == ["eyes", "confused"]
    assert flow.runs_of(first) == []

    approve = flow.say(number, "/ok-to-retrain", REVIEWER)
    flow.settle()
    assert flow.reactions(approve) == ["eyes", "rocket"]
    assert flow.check(first, "mlbot/train") == ("completed", "success")
    assert len(flow.runs_of(first)) == 1
    [report] = flow.reports(number)
    assert first[:7] in report

    second = flow.github.push_commit(FORK, "bigger-forest", {"src/features.md": "# features\nnotes\n"},
                                     "Notes", author=OUTSIDER)
    flow.settle()
    conclusion, title = train_check(flow, second)
    assert (conclusion, title) == ("neutral", "Waiting for approval")
    summary = max((r for r in flow.github.check_runs(REPO, second) if r.name == "mlbot/train"),
                  key=lambda r: r.id).output["summary"]
    assert "expired with the new push" in summary
    assert flow.runs_of(second) == []


def test_an_approval_racing_a_push_trains_only_the_commit_the_approver_saw(flow: Flow) -> None:
    flow.github.fork(REPO, FORK)
    config = with_params((EXAMPLES / "breast-cancer" / "mlbot.yaml").read_text(), BETTER)
    seen = flow.github.push_commit(FORK, "race", {"mlbot.yaml": config}, "More trees", author=OUTSIDER)
    number = flow.github.open_pull(REPO, "race", "main", "More trees", OUTSIDER, from_fork=FORK)
    flow.settle()
    assert train_check(flow, seen) == ("neutral", "Waiting for approval")

    flow.say(number, "/ok-to-retrain", REVIEWER)  # rey reviewed `seen` ...
    late = flow.github.push_commit(FORK, "race", {"src/features.md": "# sneaky\n"}, "Late", author=OUTSIDER)
    flow.settle()  # ... and the author pushed right after: the bot may see the two in either order

    assert len(flow.runs_of(seen)) == 1, "the approved commit is trained"
    assert flow.runs_of(late) == [], "the late commit is not"
    assert train_check(flow, late) == ("neutral", "Waiting for approval")
    [reply] = [r for r in flow.bot_comments(number) if r.startswith(f"@{REVIEWER} `/ok-to-retrain`")]
    assert f"approved {seen[:7]}" in reply
