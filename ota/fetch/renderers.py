"""A bound on the memory of Chromium's renderers, which run pages' scripts and JavaScript filters.

A script allocating in a loop grows its renderer until the machine runs out of memory: V8's heap
limit (`--js-flags=--max-old-space-size`, given at launch: `JS_HEAP_MB`) stops JavaScript objects
and strings, but not the memory outside that heap (array buffers, DOM nodes, images). So while
Chromium runs, `RendererWatch` looks at the renderers among this process's descendants a few times a
second and kills one whose private memory passes `RENDERER_MEMORY_MB`; its page fails ("Target
crashed"), the renderer of other pages goes on. Linux only (it reads /proc); elsewhere it does
nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
from contextlib import suppress
from pathlib import Path

#: MiB of private memory (resident, anonymous) a renderer may use before it is killed.
RENDERER_MEMORY_MB = 768
#: MiB of JavaScript heap (V8's old space) a renderer may use: past it, V8 stops the renderer itself.
JS_HEAP_MB = 512
INTERVAL = 0.1  # seconds between two looks
_PROC = Path("/proc")


def descendants(pid: int) -> list[int]:
    """The processes descending from `pid` (children, their children…), from /proc."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        with suppress(OSError):
            for task in (_PROC / str(parent) / "task").iterdir():
                with suppress(OSError):
                    children = [int(child) for child in (task / "children").read_text().split()]
                    found.extend(children)
                    pending.extend(children)
    return found


def private_memory(pid: int) -> int:
    """Bytes of resident anonymous memory of `pid` (0 when it is gone)."""
    with suppress(OSError, ValueError):
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def is_renderer(pid: int) -> bool:
    with suppress(OSError):
        return b"--type=renderer" in (_PROC / str(pid) / "cmdline").read_bytes()
    return False


class RendererWatch:
    """Kills the renderers of this process's Chromium that use more than `limit_mb` MiB."""

    def __init__(self, limit_mb: int = RENDERER_MEMORY_MB, *, interval: float = INTERVAL) -> None:
        self.limit = limit_mb * 2**20
        self.limit_mb = limit_mb
        self.interval = interval
        self.stopped = 0  # renderers killed so far, for the messages of the pages that failed
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching (in the running event loop), unless already watching or not on Linux."""
        if self._task is None and (_PROC / "self" / "task").is_dir():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while True:
            self.stopped += await asyncio.to_thread(self.sweep)
            await asyncio.sleep(self.interval)

    def sweep(self) -> int:
        """Kill every renderer over the limit now; how many were killed."""
        killed = 0
        for pid in descendants(os.getpid()):
            if is_renderer(pid) and private_memory(pid) > self.limit:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
        return killed
