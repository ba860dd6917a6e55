"""The local runner's jobs on the default branch: the production watch and the data refresh.

Neither runs a pull request's code, so neither needs the sandbox: `mlbot watch` is mlbot's own
trusted process (like evaluate; `watch.command` inside it is the team's default-branch code), and
`watch.refresh` is the team's default-branch command. Both get an allow-listed environment: the
MLflow URI and the data stores' variables, never the bot's GitHub credentials. This module turns
how they ended into outcomes; `LocalRunner` clones, runs and cleans up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.adapters.runners.processes import Finished
from bot.core.errors import Transient
from bot.core.types import RefreshJob, RefreshOutcome, WatchOutcome
from bot.core.watch_report import WatchSummary

MAX_SUMMARY_BYTES = 16 * 1024 * 1024  # a summary lists at most a few hundred phrases
NOTHING_TO_WATCH = "nothing to watch"  # what `mlbot watch` says when it exits 0 without judging
ISSUE_ENV, BY_ENV = "MLBOT_WATCH_ISSUE", "MLBOT_REFRESH_BY"
Redact = Callable[[str], str]


def watch_argv(project: Path, output: Path) -> list[str]:
    """The `mlbot watch` arguments: the checkout's mlbot.yaml, the summary to `output`, exit 75 when MLflow is down.

    The log (stdout and stderr, interleaved) gets the text report, for people; the runner reads the file.
    """
    return ["watch", "--project", str(project), "--format", "text", "--output", str(output), "--tempfail-exit"]


def refresh_environment(allowed: Mapping[str, str], job: RefreshJob) -> dict[str, str]:
    """The refresh command's environment: the allow-listed one, plus which issue asked and who."""
    return {**allowed, ISSUE_ENV: str(job.issue), BY_ENV: job.by}


def watch_outcome(done: Finished, summary_file: Path, safe: Redact, timeout: float, repo: str) -> WatchOutcome:
    """How `mlbot watch` ended: a summary (healthy, or a blocking gate fails: exit 1), nothing to watch, or a
    failure; raise Transient when it could not reach MLflow (exit 75), so the queue runs the window again."""
    log = safe(done.output)
    if done.timed_out:
        return WatchOutcome(False, None, log, f"The watch of {repo} timed out after {timeout:g} s and was stopped.")
    if done.stopped:
        return WatchOutcome(False, None, log, f"The watch of {repo} was stopped because mlbot is shutting down.")
    errors = [line.strip().removeprefix("error: ") for line in log.splitlines() if line.startswith("error: ")]
    if done.returncode == Transient.TEMPFAIL:
        said = errors[-1] if errors else "MLflow is unreachable"
        raise Transient(f"watching {repo} could not reach MLflow ({said[:200]})", dependency="MLflow")
    if done.returncode in (0, 1) and summary_file.is_file():
        summary, problem = read_summary(summary_file)
        if summary is None:
            return WatchOutcome(False, None, log, problem)
        return WatchOutcome(True, summary, log, verdict(WatchSummary.from_json(summary)))
    if done.returncode == 0:  # no `watch:` section, or no production model yet: not a failure
        nothing = [line.strip() for line in log.splitlines() if NOTHING_TO_WATCH in line]
        reason = f" ({nothing[-1][:300]})" if nothing else ""
        return WatchOutcome(True, None, log, f"There is nothing to watch in {repo} yet{reason}.")
    reason = f" ({errors[-1][:300]})" if errors else ""
    return WatchOutcome(False, None, log, f"mlbot watch exited with code {done.returncode}{reason}.")


def read_summary(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The summary `mlbot watch --output` wrote, or why it cannot be used."""
    if path.stat().st_size > MAX_SUMMARY_BYTES:
        return None, f"mlbot watch wrote a summary larger than {MAX_SUMMARY_BYTES // (1024 * 1024)} MB."
    try:
        data = json.loads(path.read_bytes())
        WatchSummary.from_json(data)  # what the use case will do with it: fail here, with a sentence
    except (ValueError, TypeError, AttributeError) as error:
        return None, f"mlbot watch wrote a summary that cannot be read ({type(error).__name__}: {str(error)[:200]})."
    return data, ""


def verdict(summary: WatchSummary) -> str:
    """One sentence on the judged window."""
    who = f"{summary.model}@{summary.alias} v{summary.version}"
    if summary.healthy:
        return f"{who} is healthy on a window of {summary.rows} rows."
    failing = [g.name for g in summary.gates if g.blocking and g.verdict == "fail"]
    drifted = f"{len(summary.drifted)} of {summary.features} features drifted"
    return f"{who} needs attention on a window of {summary.rows} rows: {drifted}; failing: {', '.join(failing)}."


def refresh_failure(done: Finished, safe: Redact, timeout: float, command: str) -> RefreshOutcome | None:
    """The outcome of a refresh command that did not finish well, or None when it exited 0."""
    log = safe(done.output)
    if done.timed_out:
        return RefreshOutcome(False, {}, log, f"The refresh command timed out after {timeout:g} s and was stopped.")
    if done.stopped:
        return RefreshOutcome(False, {}, log, "The refresh was stopped because mlbot is shutting down; comment "
                                              "`/retrain` to run it again.")
    if done.returncode != 0:
        return RefreshOutcome(False, {}, log, f"The refresh command `{command[:200]}` exited with code "
                                              f"{done.returncode}.")
    return None
