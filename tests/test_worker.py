"""ota.worker: calls run in a child process, in order; errors and the child's death come back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ota.errors import RecordError
from ota.worker import Worker, WorkerStopped


def test_results_and_exceptions_come_back_in_order(tmp_path: Path) -> None:
    async def go() -> list[object]:
        worker = await Worker.start()
        try:
            calls = [
                worker.call(divmod, 7, 2),
                worker.call(int, "not a number"),
                worker.call(os.getpid),
                worker.call(_raise_record_error, tmp_path),
                worker.call(Path.read_text, tmp_path / "missing"),
            ]
            return list(await asyncio.gather(*calls, return_exceptions=True))
        finally:
            await worker.stop()

    quotient, bad_number, child_pid, record_error, missing = asyncio.run(go())
    assert quotient == (3, 1)
    assert isinstance(bad_number, ValueError) and "not a number" in str(bad_number)
    assert isinstance(child_pid, int) and child_pid != os.getpid()
    assert isinstance(record_error, RecordError) and record_error.repo == tmp_path
    assert str(record_error) == f"{tmp_path}: locked"
    assert isinstance(missing, FileNotFoundError)


def _raise_record_error(path: Path) -> None:
    raise RecordError(path, "locked")


def test_a_child_that_dies_fails_its_call_and_the_next_ones() -> None:
    async def go() -> None:
        worker = await Worker.start()
        try:
            with pytest.raises(WorkerStopped):
                await worker.call(os._exit, 3)
            with pytest.raises(WorkerStopped):
                await worker.call(divmod, 7, 2)
        finally:
            await worker.stop()

    asyncio.run(go())


def test_the_child_ignores_ctrl_c() -> None:
    """Ctrl-C reaches every process of the terminal's group: the parent decides when to stop."""

    async def go() -> tuple[int, int]:
        worker = await Worker.start()
        try:
            pid = await worker.call(os.getpid)
            os.kill(pid, signal.SIGINT)
            await asyncio.sleep(0.2)
            return pid, await worker.call(os.getpid)
        finally:
            await worker.stop()

    before, after = asyncio.run(go())
    assert before == after


def test_what_a_call_prints_reaches_standard_error_when_the_child_exits() -> None:
    """The child exits without the interpreter's teardown once its input ends; what its calls
    printed (a library's warning) is still written out, to the standard error, not the results."""
    script = (
        "import asyncio\n"
        "from ota.worker import Worker\n"
        "async def main():\n"
        "    worker = await Worker.start()\n"
        "    assert await worker.call(print, 'printed by a call') is None\n"
        "    await worker.stop()\n"
        "asyncio.run(main())\n"
    )
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=buffered
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "printed by a call"
    assert result.stdout == ""
