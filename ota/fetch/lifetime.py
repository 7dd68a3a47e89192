"""The fetch edge's child processes (certutil, Playwright's driver, Chromium) die with the process
that starts them, however it dies, as ota's own workers do (`ota.worker`).

On Linux a process can ask the kernel for a signal when its parent dies (the parent-death signal,
`PR_SET_PDEATHSIG`); util-linux's `setpriv --pdeathsig KILL -- COMMAND` asks it, then runs COMMAND,
which keeps it. The signal comes when the *thread* that started the child ends: every child here
is started by a thread that waits for it (or by the event loop's thread), so only the death of the
process sends it. Where `setpriv` is missing (or off Linux), commands run as they are.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence


def setpriv() -> str | None:
    """util-linux's `setpriv`, where it can set the parent-death signal; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    return shutil.which("setpriv")


def dying_with_parent(command: Sequence[str]) -> list[str]:
    """`command`, made to be killed (SIGKILL) when the process that runs it dies."""
    found = setpriv()
    return [found, "--pdeathsig", "KILL", "--", *command] if found else list(command)
