"""Stand in for `mlbot serve`: a process started WITH the bot's secrets that runs a hostile fit.

`/proc/<pid>/environ` shows a process's environment as it was exec'd, so the secrets must be there
from the start, as they are for the real bot. Usage: `python bot_standin.py REQUEST_JSON`; prints
what came back as JSON. Modes: "sandbox" (bubblewrap directly), "unsafe" (the opt-out), "runner"
(the whole `LocalRunner.dispatch`: clone, sandboxed fit, trusted evaluate).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from bot.adapters.runners import LocalRunner
from bot.adapters.runners.processes import ProcessGroups
from bot.adapters.runners.sandbox import Bubblewrap, Limits, Sandbox, Unsandboxed
from bot.ports import TrainingJob

# The trusted evaluate stand-in: copies what the fit found out of its output dir, reports a run.
EVALUATE = ("import shutil, sys; args = sys.argv[2:]; "
            "shutil.copy(args[args.index('--model') + 1] + '/findings.json', sys.argv[1]); print('run_id=r1')")


def run_in(sandbox: Sandbox, request: dict[str, Any], probe: dict[str, Any]) -> dict[str, Any]:
    """Run hostile_fit.py from the project dir in `sandbox`; return the `Finished` record."""
    project, output, scratch = Path(request["project"]), Path(request["output"]), Path(request["scratch"])
    inner_project, inner_output = sandbox.inside(project, output)
    argv = [sys.executable, str(inner_project / "hostile_fit.py"), json.dumps(probe), "fit",
            "--output", str(inner_output)]
    if "source" in request:  # a fit given as Python source, run with the output dir as its argument
        argv = [sys.executable, "-c", request["source"], str(inner_output)]
    sandbox.check()
    prepared = sandbox.prepare(argv, project=project, output=output, scratch=scratch, host_env=os.environ,
                               extra_env={})
    return dataclasses.asdict(ProcessGroups().run(prepared.argv, env=prepared.env, cwd=prepared.cwd, timeout=120))


def run_runner(request: dict[str, Any], probe: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """Dispatch the pull request's commit (hostile_fit.py committed in it) through the local runner."""
    data_dir = Path(request["data_dir"])
    sandbox = Bubblewrap(limits=limits, hidden=[data_dir])
    runner = LocalRunner(clone_url=request["clone_url"], tracking_uri=request["tracking_uri"], cwd=data_dir,
                         sandbox=sandbox, fit_command=[sys.executable, "hostile_fit.py", json.dumps(probe)],
                         evaluate_command=[sys.executable, "-c", EVALUATE, str(Path(request["output"]) /
                                                                              "findings.json")])
    outcome = runner.dispatch(TrainingJob(repo="acme/models", sha=request["sha"], pr=9, branch="evil"))
    return dataclasses.asdict(outcome)


def main() -> None:
    request = json.loads(sys.argv[1])
    limits = Limits(**request["limits"])
    probe = {**request["probe"], "host_pid": os.getpid()}
    if request["mode"] == "runner":
        print(json.dumps(run_runner(request, probe, limits)))
        return
    sandbox = (Unsandboxed(limits=limits) if request["mode"] == "unsafe"
               else Bubblewrap(limits=limits, hidden=request["hidden"]))
    print(json.dumps(run_in(sandbox, request, probe)))


if __name__ == "__main__":
    main()
