"""Merges promote in merge order; a PR judged against an older production is re-trained as merged."""

from __future__ import annotations

import yaml

from tests.conftest import EXAMPLES
from tests.flows.conftest import MAINTAINER, REPO, REVIEWER, Flow


def config(n_estimators: object, max_depth: object) -> str:
    """mlbot.yaml with random_state between the two params, so PRs changing one each merge cleanly."""
    data = yaml.safe_load((EXAMPLES / "breast-cancer" / "mlbot.yaml").read_text())
    data["train"]["params"] = {"n_estimators": n_estimators, "random_state": 0, "max_depth": max_depth}
    return yaml.safe_dump(data, sort_keys=False)


def pull(flow: Flow, branch: str, text: str) -> tuple[int, str]:
    sha = flow.github.push_commit(REPO, branch, {"mlbot.yaml": text}, branch, author="alice")
    return flow.github.open_pull(REPO, branch, "main", branch, "alice"), sha


def two_approved_pulls(flow: Flow) -> tuple[tuple[int, str], tuple[int, str]]:
    """Two approved PRs changing one parameter each of main, which moved on without retraining (v1 stays)."""
    flow.github.push_commit(REPO, "main", {"mlbot.yaml": config(10, 2)}, "Ten trees", author=MAINTAINER)
    more, deeper = pull(flow, "more-trees", config(60, 2)), pull(flow, "deeper-trees", config(10, None))
    flow.settle()
    for number, _ in (more, deeper):
        flow.github.review(REPO, number, REVIEWER, "APPROVED")
    flow.settle()
    for _, sha in (more, deeper):
        assert flow.check(sha, "mlbot/gates") == ("completed", "success")
    return more, deeper


def promoted(flow: Flow) -> list[tuple[int | None, str | None]]:
    """(pr, sha) of every promotion after the baseline, in ledger order."""
    return [(e.pr, e.sha) for e in flow.tracker.history("breast-cancer")[1:] if e.action == "promote"]


def assert_production_is_the_merge(flow: Flow, merge_sha: str) -> None:
    """Production is the last promotion: the merge commit, trained as merged, judged against what it replaced."""
    last = flow.tracker.history("breast-cancer")[-1]
    assert last.action == "promote" and last.sha == merge_sha and flow.production() == last.version
    run = flow.tracker.load_run_record(last.run_id or "")
    assert run.tags["mlbot.trigger"] == "merge" and run.tags["mlbot.sha"] == merge_sha
    assert run.tags["mlbot.baseline_version"] == last.previous
    assert (run.params["n_estimators"], run.params["max_depth"]) == ("60", "None"), "both changes"


def test_merges_promote_in_order_and_a_replayed_merge_changes_nothing(flow: Flow) -> None:
    (more, more_sha), (deeper, _) = two_approved_pulls(flow)

    # The second merge comes once the first is decided (merges arriving together: the tests below).
    first_merge = flow.github.merge(REPO, more, by=MAINTAINER)
    flow.settle()
    assert flow.production() == "2"
    second_merge = flow.github.merge(REPO, deeper, by=MAINTAINER)
    flow.settle()

    # the second PR was judged against v1 without the first PR's change: its merge commit is trained instead
    assert flow.production() == "3"
    history = flow.tracker.history("breast-cancer")
    assert [(e.action, e.version, e.previous, e.pr) for e in history[1:]] == [
        ("promote", "2", "1", more), ("promote", "3", "2", deeper)]
    assert [e.sha for e in history[1:]] == [more_sha, second_merge]
    merge_run = flow.tracker.load_run_record(history[-1].run_id or "")
    assert merge_run.tags["mlbot.trigger"] == "merge" and merge_run.tags["mlbot.baseline_version"] == "2"
    assert (merge_run.params["n_estimators"], merge_run.params["max_depth"]) == ("60", "None"), "both changes"
    said = flow.bot_comments(deeper)
    assert any(c.startswith("Not promoted yet: production moved from v1 to v2") and second_merge[:7] in c
               for c in said)
    assert any("promoted **breast-cancer** v3 to production (was v2)" in c for c in said)
    assert [d.sha for d in flow.github.deployments(REPO)] == [second_merge, first_merge]

    # GitHub may send the same merge again under a new delivery id: nothing moves, nothing is said twice
    before = {n: flow.bot_comments(n) for n in (more, deeper)}
    merged = [d for d in flow.github.deliveries("pull_request") if d.action == "closed"]
    for delivery in merged:
        assert flow.post_again(delivery.id) == 202
    flow.settle()
    assert flow.production() == "3"
    assert len(flow.tracker.history("breast-cancer")) == len(history)
    assert len(flow.github.deployments(REPO)) == 2
    assert {n: flow.bot_comments(n) for n in (more, deeper)} == before


def test_two_merges_arriving_together_end_at_the_last_merge(flow: Flow) -> None:
    (more, more_sha), (deeper, deeper_sha) = two_approved_pulls(flow)
    flow.github.merge(REPO, more, by=MAINTAINER)
    second_merge = flow.github.merge(REPO, deeper, by=MAINTAINER)
    flow.settle()  # both promotion jobs ran on the two worker threads, in either order

    assert_production_is_the_merge(flow, second_merge)
    # the first PR's head (the merge added nothing to it) may have been promoted first; never after the
    # second merge, and never the second PR's head, which lacks the first PR's change
    assert promoted(flow) in ([(more, more_sha), (deeper, second_merge)], [(deeper, second_merge)])
    assert deeper_sha not in {e.sha for e in flow.tracker.history("breast-cancer")}


def test_the_later_merge_decided_first_makes_the_earlier_one_stand_down(flow: Flow) -> None:
    (more, more_sha), (deeper, _) = two_approved_pulls(flow)
    flow.github.configure_webhook(None, flow.stack.secret)  # hold both merge webhooks ...
    flow.github.merge(REPO, more, by=MAINTAINER)
    second_merge = flow.github.merge(REPO, deeper, by=MAINTAINER)
    flow.github.sender.wait_idle()
    flow.github.configure_webhook(f"{flow.stack.bot_url}/webhook", flow.stack.secret)
    first, second = [d for d in flow.github.deliveries("pull_request") if d.action == "closed"]
    flow.github.sender.redeliver(second.id)  # ... and let the bot see them in the wrong order
    flow.settle()

    assert_production_is_the_merge(flow, second_merge)
    assert promoted(flow) == [(deeper, second_merge)]
    assert any(c.startswith("Not promoted yet: main had other changes when") and second_merge[:7] in c
               for c in flow.bot_comments(deeper))
    flow.github.sender.redeliver(first.id)
    flow.settle()
    assert promoted(flow) == [(deeper, second_merge)], "the earlier merge must not replace the later one"
    assert f"I did not promote {more_sha[:7]}: production **breast-cancer** v2 was trained on " \
        f"{second_merge[:7]}, which already contains it (a later merge got there first)." in flow.bot_comments(more)
