"""A child Python process that runs the calls it is sent, one at a time, in order.

ota runs CPU work that would hold the tracking process's GIL in such children: extraction
(`ota.tracking.pool.ExtractionPool`) and git (`ota.store.writer`). Each child is `python -m ota.worker`,
started with the tracking process's current environment and folder. Calls and results travel as
pickles over the child's standard input and output, each prefixed with its length; a call is a
module-level function and plain values.

A child ignores Ctrl-C and SIGTERM (the tracking process decides when to stop), stops when its input closes,
and on Linux is killed by the kernel the moment the process that started it dies, however it dies
(`PR_SET_PDEATHSIG`): no process is left behind holding memory or a repository's lock, not even one
busy with a long extraction. (multiprocessing's pools stay alive, blocked, when their parent is
killed.) A child may be given a memory limit (its address space): past it, allocations fail.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

# asyncio is imported by the methods that use it, in the tracking process: the child never needs
# it, and importing it was a third of the child's start-up before it can answer its first call.
if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")

_HEADER = 8  # bytes of length before each pickle
#: The most a call or a result may weigh in the tracking process's stream buffer before waiting.
_LIMIT = 2**20


class WorkerStopped(ConnectionError):
    """The child process has stopped: nothing sent to it will be answered."""


class Worker:
    """One child process; `call` sends a call, returns its result or raises its exception."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        import asyncio

        self._process = process
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._reader = asyncio.ensure_future(self._read_results())

    @classmethod
    async def start(cls, *, memory_limit: int | None = None) -> Worker:
        """Start a child; `memory_limit` (bytes) bounds its address space."""
        import asyncio

        options = ["--memory", str(memory_limit)] if memory_limit else []
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ota.worker",
            "--parent",
            str(os.getpid()),
            *options,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LIMIT,
        )
        return cls(process)

    @property
    def pid(self) -> int:
        return self._process.pid

    def kill(self) -> None:
        """End the child at once (a call that overran its time); its calls fail with WorkerStopped."""
        if self._process.returncode is None:
            self._process.kill()

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in the child. Raises WorkerStopped if the child is gone."""
        future = self.send(function, *args)
        assert self._process.stdin is not None
        try:
            await self._process.stdin.drain()  # wait while the child is behind on its input
        except BaseException as exc:
            # Nobody will await the result (cancelled, or the child gone): drop it, so that its
            # exception is not reported later as "Future exception was never retrieved".
            future.cancel()
            if isinstance(exc, ConnectionError):
                raise WorkerStopped(f"the worker process has stopped ({exc})") from exc
            raise
        return await future

    def send(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Send `function(*args)` without waiting: its result will be the future's."""
        import asyncio

        assert self._process.stdin is not None
        if self._reader.done() or self._process.stdin.is_closing():
            raise WorkerStopped("the worker process has stopped")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        data = pickle.dumps((function, args), protocol=pickle.HIGHEST_PROTOCOL)
        self._waiting.append(future)
        self._process.stdin.write(len(data).to_bytes(_HEADER, "big") + data)
        return future

    async def _read_results(self) -> None:
        import asyncio

        assert self._process.stdout is not None
        stdout = self._process.stdout
        error: BaseException
        try:
            while True:
                size = int.from_bytes(await stdout.readexactly(_HEADER), "big")
                ok, value = pickle.loads(await stdout.readexactly(size))
                future = self._waiting.popleft()
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            error = WorkerStopped(f"the worker process has stopped ({exc or 'its output ended'})")
        except BaseException as exc:  # a result that cannot be read: fail every call still waiting
            error = exc
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)

    async def stop(self) -> None:
        """Close the child's input (it exits once the calls sent are answered), then wait for it."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        await self._process.wait()
        await self._reader


# -- in the child ---------------------------------------------------------------------------------


def _read(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def serve(requests: BinaryIO, results: BinaryIO) -> None:
    """Answer calls until `requests` ends: each result or exception, pickled, in order."""
    while (header := _read(requests, _HEADER)) is not None:
        payload = _read(requests, int.from_bytes(header, "big"))
        if payload is None:
            break
        try:
            function, args = pickle.loads(payload)
            answer: tuple[bool, Any] = (True, function(*args))
        except Exception as exc:
            answer = (False, exc)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an exception that does not pickle still gets its words across
            words = f"{type(answer[1]).__name__}: {answer[1]} (not picklable: {exc})"
            data = pickle.dumps((False, RuntimeError(words)))
        try:
            results.write(len(data).to_bytes(_HEADER, "big") + data)
            results.flush()
        except BrokenPipeError:  # the parent is gone: nobody is waiting for this result
            return


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux); exit if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request above: nobody will read us
        os._exit(0)


def main() -> None:
    arguments = sys.argv[1:]
    options = dict(zip(arguments[0::2], arguments[1::2], strict=False))
    if "--parent" in options:
        _die_with_parent(int(options["--parent"]))
    if "--memory" in options:
        import resource

        limit = int(options["--memory"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Ctrl-C and SIGTERM (sent to the whole process group by a terminal, or by an init process)
    # are for the tracking process, which ends the run cleanly, then closes this one's input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt the results
    serve(sys.stdin.buffer, results)
    # Every call sent is answered (a writer's last call closed its repository): exit without the
    # interpreter's teardown, which frees every object of every module for nobody, and kept the
    # tracking process waiting at the end of each run (`Worker.stop`: 20-250 ms, 2-6 ms now).
    results.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
