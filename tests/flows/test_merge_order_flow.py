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


def test_merges_promote_in_order_and_a_replayed_merge_changes_nothing(flow: Flow) -> None:
    # main moves on without retraining (production stays v1); each PR then changes one parameter
    flow.github.push_commit(REPO, "main", {"mlbot.yaml": config(10, 2)}, "Ten trees", author=MAINTAINER)
    more, more_sha = pull(flow, "more-trees", config(60, 2))
    deeper, deeper_sha = pull(flow, "deeper-trees", config(10, None))
    flow.settle()
    for number in (more, deeper):
        flow.github.review(REPO, number, REVIEWER, "APPROVED")
    flow.settle()
    assert flow.check(more_sha, "mlbot/gates") == ("completed", "success")
    assert flow.check(deeper_sha, "mlbot/gates") == ("completed", "success")

    # The second merge comes once the first is decided. (Two promotion jobs running at the same time
    # are not ordered yet: see docs/readme/lifecycle.md, "Known limits".)
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
