"""The fetch edge's child processes (certutil, Playwright's driver, Chromium) die with the process
that starts them, however it dies, as ota's own workers do (`ota.worker`).

On Linux a process can ask the kernel for a signal when its parent dies (the parent-death signal,
`PR_SET_PDEATHSIG`); util-linux's `setpriv --pdeathsig KILL -- COMMAND` asks it, then runs COMMAND,
which keeps it. The signal comes when the *thread* that started the child ends: every child here
is started by a thread that waits for it (or by the event loop's thread), so only the death of the
process sends it. Where `setpriv` is missing (or off Linux), commands run as they are.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def setpriv() -> str | None:
    """util-linux's `setpriv`, where it can set the parent-death signal; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    return shutil.which("setpriv")


def dying_with_parent(command: Sequence[str]) -> list[str]:
    """`command`, made to be killed (SIGKILL) when the process that runs it dies."""
    found = setpriv()
    return [found, "--pdeathsig", "KILL", "--", *command] if found else list(command)


#: Chromium's HOME is `TMPDIR/ota-chromium-PID-…`, PID being the ota process that made it.
HOME_PREFIX = "ota-chromium-"


def remove_stale_homes(folder: Path) -> list[Path]:
    """Remove the Chromium homes in `folder` left by ota processes that no longer run (killed before
    they could remove them); return them. Homes of running processes, and other users', stay."""
    removed = []
    for candidate in folder.glob(f"{HOME_PREFIX}*-*"):
        pid = candidate.name[len(HOME_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            if not candidate.is_dir() or candidate.is_symlink() or candidate.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(candidate, ignore_errors=True)
        removed.append(candidate)
    return removed


def launcher_dying_with_parent(folder: Path, name: str, executable: str, environment: str = "") -> str:
    """A launcher in `folder` that runs `executable` with Linux's parent-death signal set (util-linux's
    `setpriv --pdeathsig KILL`): killed at once when the process that started it dies, however it
    dies. `executable` itself where that cannot be done (no `setpriv`, not Linux, or `folder` on a
    file system mounted `noexec`, as a hardened TMPDIR often is)."""
    if setpriv() is None:
        return executable
    launcher = folder / name
    command = f'exec {shlex.join(dying_with_parent([executable]))} "$@"'
    launcher.write_text(f"#!/bin/sh\n{environment}{command}\n")
    launcher.chmod(0o700)
    if not os.access(launcher, os.X_OK):  # noexec: access(2) says so, as execve(2) would fail
        launcher.unlink()
        return executable
    return str(launcher)


@contextmanager
def driver_dies_with_this_process(folder: Path) -> Iterator[None]:
    """Playwright's driver (Node.js, a child of this process) started so that it dies at once with
    this process, as ota's own workers do, instead of living on until it notices its pipe closed;
    its temporary files (Chromium's profile) go in `folder`, which is removed when the browser
    closes, or at a later start when this process was killed (`remove_stale_homes`).

    Playwright takes the Node.js to run from `PLAYWRIGHT_NODEJS_PATH`, read when it starts the
    driver: it names, while the driver starts, a launcher (`_dying_with_parent`)."""
    real = _playwright_node()
    if real is None:
        yield
        return
    temporary = f"TMPDIR={shlex.quote(str(folder))}; export TMPDIR\n"
    launcher = launcher_dying_with_parent(folder, "node", real, temporary)
    previous = os.environ.get("PLAYWRIGHT_NODEJS_PATH")
    os.environ["PLAYWRIGHT_NODEJS_PATH"] = launcher
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PLAYWRIGHT_NODEJS_PATH", None)
        else:
            os.environ["PLAYWRIGHT_NODEJS_PATH"] = previous


def _playwright_node() -> str | None:
    """The Node.js Playwright would run its driver with (its own, or `PLAYWRIGHT_NODEJS_PATH`)."""
    try:
        from playwright._impl._driver import compute_driver_executable

        node = compute_driver_executable()[0]
    except Exception:  # a Playwright without that function, or without Node.js: as it is
        return None
    return node if os.access(node, os.X_OK) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
