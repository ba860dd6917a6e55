"""Stand in for `mlbot serve`: a process started WITH the bot's secrets that runs a command in a sandbox.

`/proc/<pid>/environ` shows a process's environment as it was exec'd, so the secrets must be there
from the start, as they are for the real bot. Usage: `python bot_standin.py REQUEST_JSON`; prints
the `Finished` record as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

from bot.adapters.runners.processes import ProcessGroups
from bot.adapters.runners.sandbox import Bubblewrap, Limits, Unsandboxed


def main() -> None:
    request = json.loads(sys.argv[1])
    limits = Limits(**request["limits"])
    sandbox = Unsandboxed(limits=limits) if request["unsafe"] else Bubblewrap(limits=limits, hidden=request["hidden"])
    sandbox.check()
    project, output, scratch = Path(request["project"]), Path(request["output"]), Path(request["scratch"])
    inner_project, inner_output = sandbox.inside(project, output)
    probe = {**request["probe"], "host_pid": os.getpid()}
    argv = [sys.executable, str(inner_project / "hostile_fit.py"), json.dumps(probe), "fit",
            "--output", str(inner_output)]
    prepared = sandbox.prepare(argv, project=project, output=output, scratch=scratch, host_env=os.environ,
                               extra_env={})
    finished = ProcessGroups().run(prepared.argv, env=prepared.env, cwd=prepared.cwd, timeout=120)
    print(json.dumps(dataclasses.asdict(finished)))


if __name__ == "__main__":
    main()
