"""Recording fakes of the Forge, Tracker, queue and runner ports, for handler unit tests (bedevere style).

Each fake keeps just enough state to answer what the handlers ask, and records every call as
`(method, args...)` so a test can assert on exactly what the bot did on GitHub and in MLflow.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.errors import NotFound, StaleBaseline
from bot.core.types import (
    CheckOutput,
    CheckRun,
    Comment,
    CommitComparison,
    CommitStatus,
    Issue,
    LedgerEntry,
    ModelVersionRef,
    Permission,
    Promotion,
    PromotionIntent,
    PullRequest,
    RefreshJob,
    RefreshOutcome,
    Review,
    RunRecord,
    Snooze,
    TrainingJob,
    TrainingOutcome,
    WatchJob,
    WatchOutcome,
)
from bot.core.watch_report import WatchSummary
from bot.ports import Context
from tests.analysis.builders import predictions

REPO = "acme/churn"
BASE_SHA = "b" * 40
HEAD_SHA = "a" * 40
MERGE_SHA = "c" * 40
BOT = "mlbot[bot]"
CONFIG = """model: churn
task: classification
data: {train: data/train.csv, eval: data/eval.csv, target: label, slices: [region]}
train: {estimator: sklearn.linear_model.LogisticRegression, params: {C: 1.0}}
metrics: [roc_auc, accuracy]
ci: {runner: local, paths: ["src/**", "data/**"]}
commands: {retrain_params: [C]}
"""
POLICY = """gates:
  - name: roc_auc is not worse than production
    metric: roc_auc
    vs_production: {max_drop: 0.05, confidence: 0.95}
  - name: accuracy floor
    metric: accuracy
    min: 0.5
"""
STRICT = POLICY.replace("min: 0.5", "min: 0.99")
REVIEWED = POLICY + "  - name: reviewed\n    review: {min_approvals: 1, exclude_author: true}\n"


def pull(**changes: Any) -> PullRequest:
    base = PullRequest(repo=REPO, number=7, title="Tune C", author="alice", head_sha=HEAD_SHA, head_ref="tune",
                       head_repo=REPO, base_ref="main", base_sha=BASE_SHA, html_url="https://x/pull/7",
                       default_branch="main")
    return replace(base, **changes)


@dataclass
class FakeForge:
    """GitHub as the handlers see it: files at the base sha, one pull request, roles, and a call log."""

    files: dict[str, str] = field(default_factory=lambda: {"mlbot.yaml": CONFIG, "policies/gates.yaml": POLICY})
    pulls: dict[int, PullRequest] = field(default_factory=lambda: {7: pull()})
    roles: dict[str, Permission] = field(default_factory=lambda: {"alice": "write", "maya": "maintain"})
    changed: list[str] = field(default_factory=lambda: ["src/model.py"])
    reviews: list[Review] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    checks: list[CheckRun] = field(default_factory=list)
    outputs: list[CheckOutput] = field(default_factory=list)  # every check output written
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(100))
    issues: dict[int, Issue] = field(default_factory=dict)  # plain issues, by number
    proposed: list[dict[str, Any]] = field(default_factory=list)  # every propose_change

    def everything_said(self) -> list[str]:
        """Every text the bot wrote: comments, check titles, summaries and texts."""
        texts = [c.body for c in self.comments]
        for output in self.outputs:
            texts += [output.title, output.summary, output.text or ""]
        return texts

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def check(self, name: str) -> CheckRun:
        return max((c for c in self.checks if c.name == name), key=lambda c: c.id)

    def bodies(self) -> list[str]:
        return [c.body for c in self.comments]

    def default_branch(self, repo: str) -> str:
        self.calls.append(("default_branch", repo))
        return "main"

    def get_file(self, repo: str, path: str, ref: str) -> bytes | None:
        self.calls.append(("get_file", path, ref))
        text = self.files.get(path)
        return text.encode() if text is not None else None

    def list_directory(self, repo: str, path: str, ref: str) -> list[str]:
        self.calls.append(("list_directory", path, ref))
        return sorted(p for p in self.files if p.startswith(path.rstrip("/") + "/"))

    def get_pull(self, repo: str, number: int) -> PullRequest:
        self.calls.append(("get_pull", number))
        return self.pulls[number]

    def list_pull_files(self, repo: str, number: int) -> list[str]:
        self.calls.append(("list_pull_files", number))
        return list(self.changed)

    def list_comments(self, repo: str, number: int) -> list[Comment]:
        self.calls.append(("list_comments", number))
        return list(self.comments)

    def create_comment(self, repo: str, number: int, body: str) -> Comment:
        self.calls.append(("create_comment", number, body))
        made = Comment(next(self.ids), BOT, body)
        self.comments.append(made)
        return made

    def upsert_sticky_comment(self, repo: str, number: int, marker: str, body: str) -> Comment:
        self.calls.append(("upsert_sticky_comment", number, marker, body))
        for i, c in enumerate(self.comments):
            if c.author == BOT and c.body.startswith(marker):
                self.comments[i] = replace(c, body=body)
                return self.comments[i]
        made = Comment(next(self.ids), BOT, body)
        self.comments.append(made)
        return made

    def add_reaction(self, repo: str, comment_id: int, reaction: str) -> None:
        self.calls.append(("add_reaction", comment_id, reaction))

    def create_check_run(self, repo: str, head_sha: str, name: str, *, status: str = "queued",
                         conclusion: str | None = None, output: CheckOutput | None = None,
                         details_url: str | None = None, external_id: str | None = None) -> CheckRun:
        self.calls.append(("create_check_run", name, status, conclusion, output.title if output else None))
        self.outputs += [output] if output else []
        run = CheckRun(next(self.ids), name, head_sha, status, conclusion, details_url)
        self.checks.append(run)
        return run

    def update_check_run(self, repo: str, check_run_id: int, *, status: str | None = None,
                         conclusion: str | None = None, output: CheckOutput | None = None,
                         details_url: str | None = None) -> None:
        self.calls.append(("update_check_run", check_run_id, status, conclusion, output.title if output else None))
        self.outputs += [output] if output else []
        for i, c in enumerate(self.checks):
            if c.id == check_run_id:
                self.checks[i] = replace(c, status=status or c.status, conclusion=conclusion or c.conclusion)

    def list_check_runs(self, repo: str, sha: str) -> list[CheckRun]:
        self.calls.append(("list_check_runs", sha))
        return [c for c in self.checks if c.head_sha == sha]

    def list_commit_statuses(self, repo: str, sha: str) -> list[CommitStatus]:
        self.calls.append(("list_commit_statuses", sha))
        return []

    def compare(self, repo: str, base: str, head: str) -> CommitComparison:
        self.calls.append(("compare", base, head))
        return CommitComparison("ahead", 1, 0)

    def permission(self, repo: str, login: str) -> Permission:
        self.calls.append(("permission", login))
        return self.roles.get(login, "none")

    def list_reviews(self, repo: str, number: int) -> list[Review]:
        self.calls.append(("list_reviews", number))
        return list(self.reviews)

    def dispatch_workflow(self, repo: str, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        self.calls.append(("dispatch_workflow", workflow, ref, dict(inputs)))

    def create_deployment(self, repo: str, ref: str, environment: str, description: str,
                          payload: Mapping[str, Any]) -> int:
        self.calls.append(("create_deployment", ref, environment, description))
        return 555

    def create_deployment_status(self, repo: str, deployment_id: int, state: str, description: str,
                                 environment_url: str | None = None, log_url: str | None = None) -> None:
        self.calls.append(("create_deployment_status", deployment_id, state))

    def clone_credential(self, repo: str) -> str | None:
        return None

    def get_issue(self, repo: str, number: int) -> Issue:
        self.calls.append(("get_issue", number))
        if number in self.issues:
            return self.issues[number]
        raise NotFound(f"no issue {number}")

    def branch_sha(self, repo: str, branch: str) -> str:
        self.calls.append(("branch_sha", branch))
        return BASE_SHA

    def clone_url(self, repo: str) -> str:
        return f"https://github.com/{repo}.git"

    def propose_change(self, repo: str, *, base: str, base_sha: str, branch: str,
                       files: Mapping[str, bytes | None], message: str, title: str, body: str) -> PullRequest:
        self.calls.append(("propose_change", branch))
        self.proposed.append({"base": base, "base_sha": base_sha, "branch": branch, "files": dict(files),
                              "title": title, "body": body})
        return pull(number=40 + len(self.proposed), head_ref=branch, author=BOT, title=title)

    def create_tag(self, repo: str, tag: str, sha: str, message: str) -> None:
        self.calls.append(("create_tag", tag, sha))


@dataclass
class FakeTracker:
    """MLflow as the handlers see it: runs by sha, a production alias, and recorded promotions."""

    runs: dict[str, RunRecord] = field(default_factory=dict)  # by sha
    production: ModelVersionRef | None = None
    gap: float = 0.05  # how much better the candidate's predictions are
    promotions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    stale_on_promote: bool = False
    done: list[tuple[int, str]] = field(default_factory=list)  # effects marked done
    watched: dict[tuple[str, str], tuple[WatchSummary, float]] = field(default_factory=dict)
    snoozes: dict[tuple[str, str], Snooze] = field(default_factory=dict)

    def add_run(self, sha: str = HEAD_SHA, *, baseline: str | None = None) -> str:
        run_id = f"run-{sha[:6]}-{len(self.runs)}"
        tags = {"mlbot.sha": sha, "mlbot.model": "churn", "mlbot.eval_sha256": "e" * 64, "mlbot.pr": "7",
                "mlbot.branch": "tune"}
        if baseline:
            tags.update({"mlbot.baseline_version": baseline, "mlbot.baseline_run_id": ""})
        self.runs[sha] = RunRecord(run_id, "1", tags, {"C": "1.0"}, {}, "file:///x", 0)
        return run_id

    def find_run(self, experiment: str, sha: str) -> str | None:
        found = self.runs.get(sha)
        return found.run_id if found else None

    def load_run_record(self, run_id: str) -> RunRecord:
        for record in self.runs.values():
            if record.run_id == run_id:
                return record
        raise NotFound(f"no run {run_id}")

    def load_predictions(self, run_id: str) -> Any:
        record = self.load_run_record(run_id)
        return predictions(400, seed=1, production="mlbot.baseline_version" in record.tags, gap=self.gap)

    def load_profile(self, run_id: str) -> dict[str, Any] | None:
        return None

    def production_version(self, model: str, alias: str = "production") -> ModelVersionRef | None:
        return self.production

    def promote(self, model: str, run_id: str, *, by: str, alias: str = "production", reason: str = "",
                force: bool = False, pr: int | None = None, note: str = "", effects: tuple[str, ...] = (),
                details: Mapping[str, str] | None = None) -> Promotion:
        if self.stale_on_promote:
            raise StaleBaseline("production moved from v1 to v2 since this run was evaluated")
        self.promotions.append((run_id, {"by": by, "reason": reason, "force": force, "pr": pr, "note": note}))
        previous = self.production.version if self.production else None
        version = str(int(previous or 0) + 1)
        entry = LedgerEntry(len(self.promotions), "promote", model, version, previous, "now", by, reason)
        self.production = ModelVersionRef(model, version, run_id, None)
        return Promotion(model, alias, version, previous, True, entry,
                         self._intent("promote", entry, alias, effects, details))

    def rollback(self, model: str, *, by: str, reason: str, to: str | None = None, alias: str = "production",
                 pr: int | None = None, effects: tuple[str, ...] = (),
                 details: Mapping[str, str] | None = None) -> Promotion:
        self.rollbacks.append({"by": by, "reason": reason, "to": to, "pr": pr})
        entry = LedgerEntry(9, "rollback", model, to or "1", "2", "now", by, reason)
        return Promotion(model, alias, to or "1", "2", True, entry, self._intent("rollback", entry, alias, effects,
                                                                               details))

    def _intent(self, action: str, entry: LedgerEntry, alias: str, effects: tuple[str, ...],
                details: Mapping[str, str] | None) -> PromotionIntent | None:
        if not effects:
            return None
        return PromotionIntent(entry.model, entry.seq, action, alias, entry.version, entry.previous,  # type: ignore[arg-type]
                               entry.at, entry.by, registry_done=True, effects={e: False for e in effects},
                               details=dict(details or {}))

    def recover(self, model: str | None = None) -> list[PromotionIntent]:
        return []

    def mark_done(self, model: str, seq: int, effect: str) -> None:
        self.done.append((seq, effect))

    def history(self, model: str) -> list[LedgerEntry]:
        return []

    def latest_watch(self, experiment: str, model: str, alias: str) -> tuple[WatchSummary, float] | None:
        return self.watched.get((model, alias))

    def watch_snooze(self, model: str, alias: str) -> Snooze | None:
        return self.snoozes.get((model, alias))

    def snooze_watch(self, model: str, alias: str, snooze: Snooze | None) -> None:
        if snooze is None:
            self.snoozes.pop((model, alias), None)
        else:
            self.snoozes[(model, alias)] = snooze


@dataclass
class FakeQueue:
    """Accepts each key once and keeps the jobs, so a test can run them by hand."""

    jobs: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)

    def enqueue(self, kind: str, payload: Mapping[str, Any], *, key: str | None = None) -> bool:
        if key is not None and self.known(key):
            return False
        self.jobs.append((kind, dict(payload), key))
        return True

    def known(self, key: str) -> bool:
        return any(k == key for _, _, k in self.jobs)

    def gave_up(self, key: str) -> bool:
        return False

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.jobs]


@dataclass
class FakeRunner:
    outcome: TrainingOutcome
    jobs: list[TrainingJob] = field(default_factory=list)
    stopping: bool = False
    watched: WatchOutcome | None = None
    refreshed: RefreshOutcome | None = None
    watches: list[WatchJob] = field(default_factory=list)
    refreshes: list[RefreshJob] = field(default_factory=list)

    def stop_all(self) -> int:
        self.stopping = True
        return 0

    def dispatch(self, job: TrainingJob) -> TrainingOutcome | None:
        self.jobs.append(job)
        return self.outcome

    def watch(self, job: WatchJob) -> WatchOutcome | None:
        self.watches.append(job)
        return self.watched

    def refresh(self, job: RefreshJob) -> RefreshOutcome | None:
        self.refreshes.append(job)
        return self.refreshed


def context(forge: FakeForge | None = None, tracker: FakeTracker | None = None,
            runner: FakeRunner | None = None) -> Context:
    runners: dict[str, Any] = {"local": runner} if runner else {}
    return Context(forge=forge or FakeForge(), queue=FakeQueue(), tracker=tracker or FakeTracker(),  # type: ignore[arg-type]
                   bot_login=BOT, runners=runners, signing_keys=("test-secret",))
