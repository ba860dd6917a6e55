"""Comment commands through the real stack: who may do what, what the bot answers, how it reacts."""

from __future__ import annotations

from tests.flows.conftest import AUTHOR, BETTER, MAINTAINER, OUTSIDER, REPO, REVIEWER, Flow


def test_commands_are_authorized_live_answered_and_acknowledged(flow: Flow) -> None:
    number, sha = flow.open_pull("better-forest", BETTER)
    flow.github.set_role(REPO, OUTSIDER, None)
    flow.settle()
    unreviewed = flow.say(number, "/promote", MAINTAINER)
    flow.settle()
    assert flow.reactions(unreviewed) == ["eyes", "confused"]
    [refusal] = flow.replies(number, unreviewed)
    assert "I did not promote" in refusal and "reviewed: fail" in refusal, "a /promote obeys the review gate"
    assert flow.production() == "1"
    flow.github.review(REPO, number, REVIEWER, "APPROVED")
    flow.settle()
    assert flow.check(sha, "mlbot/gates") == ("completed", "success")

    writer_promote = flow.say(number, "/promote", REVIEWER)
    writer_rollback = flow.say(number, "/rollback v1", REVIEWER)
    outsider_promote = flow.say(number, "/promote", OUTSIDER)
    typo = flow.say(number, "/retrian", AUTHOR)
    fenced = flow.say(number, "Try this:\n```\n/retrain\n```\n", AUTHOR)
    help_ = flow.say(number, "/help", OUTSIDER)
    evil = flow.say(number, "/retrain evil=1", AUTHOR)
    flow.github.edit_comment(REPO, fenced, "/retrain n_estimators=5", AUTHOR)
    flow.settle()

    def said(to: str, text: str) -> bool:
        return any(r.startswith(f"@{to} ") and text in r for r in flow.replies(number, writer_promote - 1))

    assert said(REVIEWER, "I did not run `/promote`: /promote needs maintain or admin permission")
    assert said(REVIEWER, "(you have write)")
    assert said(REVIEWER, "I did not run `/rollback`: /rollback needs maintain or admin permission")
    assert said(OUTSIDER, "I did not run `/promote`") and said(OUTSIDER, "(you have none)")
    assert said(AUTHOR, "did you mean `/retrain`?")
    assert said(OUTSIDER, "| `/promote [--force] [--reason TEXT]` |")
    assert said(OUTSIDER, "maintain or admin permission, or a login in `commands.promoters` |")
    assert said(OUTSIDER, "| `/ok-to-retrain [SHA]` |")
    assert said(AUTHOR, "evil is not a parameter /retrain may change; allowed: n_estimators, max_depth, "
                        "min_samples_leaf")
    for refused in (writer_promote, writer_rollback, outsider_promote, typo, evil):
        assert flow.reactions(refused) == ["eyes", "confused"]
    assert flow.reactions(help_) == ["eyes", "rocket"]
    # a command in a code block does nothing, and neither does editing a comment into a command
    assert flow.reactions(fenced) == []
    assert not said(AUTHOR, "`/retrain`: training")
    assert flow.production() == "1"

    promote = flow.say(number, "/promote", MAINTAINER)
    flow.settle()
    assert flow.production() == "2"
    assert flow.tracker.production_version("breast-cancer").run_id == flow.tracker.find_run(  # type: ignore[union-attr]
        "breast-cancer", sha)
    assert flow.reactions(promote) == ["eyes", "rocket"]
    assert any("promoted **breast-cancer** v2 to production (was v1)" in r for r in flow.replies(number, promote))

    rollback = flow.say(number, "/rollback --reason smoke test", MAINTAINER)
    flow.settle()
    assert flow.production() == "1"
    assert flow.reactions(rollback) == ["eyes", "rocket"]
    assert any("production is v1 again (was v2)" in r for r in flow.replies(number, rollback))
    assert [(e.action, e.pr) for e in flow.tracker.history("breast-cancer")][-2:] == [
        ("promote", number), ("rollback", number)]

    first = flow.say(number, "/retrain max_depth=3", AUTHOR)
    second = flow.say(number, "/retrain max_depth=3", REVIEWER)
    flow.settle()
    assert flow.reactions(first) == flow.reactions(second) == ["eyes", "rocket"]
    # the two comments race (two workers): whichever is handled first trains, the other is told so
    answers = [r for r in flow.replies(number, first - 1) if "`/retrain`:" in r]
    queued = [r for r in answers if f"`/retrain`: training of {sha[:7]} is queued" in r]
    already = [r for r in answers if f"`/retrain`: {sha[:7]} with these parameters was already queued or trained"
               in r]
    assert len(queued) == 1 and len(already) == 1, answers
    assert {queued[0].split()[0], already[0].split()[0]} == {f"@{AUTHOR}", f"@{REVIEWER}"}
    runs = flow.runs_of(sha)
    assert sorted(r.params.get("max_depth") for r in runs) == ["3", "None"], "the second /retrain ran nothing"
    assert "5" not in {r.params.get("n_estimators") for r in runs}, "the edited comment trained nothing"
    retrained = next(r for r in runs if r.params.get("max_depth") == "3")
    assert retrained.tags["mlbot.trigger"] == "command"
    [report] = flow.reports(number)
    assert retrained.run_id in report
