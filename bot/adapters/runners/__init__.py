"""Training runners: dispatch a GitHub Actions workflow, or fit in a sandbox and evaluate here.

`ActionsRunner` (actions.py) returns at once; the `workflow_run` webhook reports the end.
`LocalRunner` (local.py) runs `mlbot fit` inside the sandbox (sandbox.py: bubblewrap) and then
`mlbot evaluate` as mlbot's own trusted process, each as a process group it can kill (processes.py).
Both also run the production watch (`watch`) and the data refresh of `/retrain` (`refresh`) on the
default branch: the Actions runner dispatches `mlbot-watch.yml`, the local runner runs them here.
"""

from __future__ import annotations

from bot.adapters.runners.actions import ActionsRunner
from bot.adapters.runners.local import LocalRunner, evaluate_argv, fit_argv, mlbot_command, parse_run_id
from bot.adapters.runners.sandbox import Bubblewrap, Limits, SandboxUnavailable, Unsandboxed, choose_sandbox

__all__ = [
    "ActionsRunner",
    "Bubblewrap",
    "Limits",
    "LocalRunner",
    "SandboxUnavailable",
    "Unsandboxed",
    "choose_sandbox",
    "evaluate_argv",
    "fit_argv",
    "mlbot_command",
    "parse_run_id",
]
