"""The extraction pool: extraction in child processes that fail one terms when they die."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from ota import worker
from ota.declarations import SourceDocument
from ota.errors import ExtractError
from ota.settings import Settings, TrackSettings
from ota.tracking.pool import ExtractionPool
from tests.test_browser import dying

SOURCES = [
    (SourceDocument("https://example.org/terms", ("main",)), b"<main><p>Be kind.</p></main>", "text/html")
]


def kill(pool: ExtractionPool, index: int = 0) -> None:
    """Kill one of the pool's processes (the test reaches in to do it)."""
    process = pool._workers[index]._process
    os.kill(process.pid, signal.SIGKILL)


def test_an_extraction_process_that_dies_fails_its_terms_only_and_is_replaced() -> None:
    """A crash of an extraction process (a parser bug on some page) is one failed terms."""

    async def go() -> tuple[str, str]:
        pool = ExtractionPool(1)
        try:
            first = await pool(SOURCES, None)
            kill(pool)
            with pytest.raises(ExtractError, match="extraction process stopped"):
                await pool(SOURCES, None)
            return first, await pool(SOURCES, None)
        finally:
            await pool.close()

    assert asyncio.run(go()) == ("Be kind.", "Be kind.")


def test_extraction_processes_that_cannot_start_fail_each_extraction_without_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No process can start: every extraction fails with the reason, none waits forever."""
    monkeypatch.setattr(worker.sys, "executable", "/nonexistent/python")

    async def go() -> list[object]:
        pool = ExtractionPool(2)
        try:
            calls = [pool(SOURCES, None) for _ in range(3)]
            return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)
        finally:
            await pool.close()

    results = asyncio.run(go())
    assert all(isinstance(r, ExtractError) and "could not start" in str(r) for r in results), results


def test_a_dead_process_that_cannot_be_replaced_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the replacement of a dead process fails, the others go on; with none left, every later
    extraction fails with the reason instead of reaching the dead one (or waiting forever)."""

    async def go() -> tuple[list[object], list[object]]:
        pool = ExtractionPool(2)
        try:
            await asyncio.gather(pool(SOURCES, None), pool(SOURCES, None))  # both processes started
            monkeypatch.setattr(worker.sys, "executable", "/nonexistent/python")
            kill(pool, 0)
            with pytest.raises(ExtractError, match="extraction process stopped"):
                await asyncio.gather(*(pool(SOURCES, None) for _ in range(2)))
            assert pool.workers == 1
            with_one = await asyncio.gather(*(pool(SOURCES, None) for _ in range(4)), return_exceptions=True)
            kill(pool, 0)
            with_none = await asyncio.wait_for(
                asyncio.gather(*(pool(SOURCES, None) for _ in range(4)), return_exceptions=True), 10
            )
            return with_one, with_none
        finally:
            await pool.close()

    with_one, with_none = asyncio.run(go())
    assert with_one == ["Be kind."] * 4
    assert isinstance(with_none[0], ExtractError) and "extraction process stopped" in str(with_none[0])
    assert all(
        isinstance(r, ExtractError) and "no extraction process could be started" in str(r)
        for r in with_none[1:]
    )


SLOW_AND_GREEDY = """
import time


def slow(document, parameters, source_document):
    time.sleep(30)


def greedy(document, parameters, source_document):
    hoard = bytearray(2 * 1024**3)
"""


def filtered(name: str) -> list:
    from ota.declarations import FilterRef

    document = SourceDocument("https://example.org/terms", ("main",), filters=(FilterRef(name),))
    return [(document, b"<main><p>Be kind.</p></main>", "text/html")]


def test_an_extraction_over_its_time_or_memory_is_stopped_and_fails_its_terms_only(tmp_path) -> None:
    """A page whose extraction takes too long, or needs too much memory ([track] extract_timeout,
    extract_memory), fails with the bound it met; its process is replaced and the next extraction works."""
    filters = tmp_path / "A.filters.py"
    filters.write_text(SLOW_AND_GREEDY, "utf-8")

    async def go() -> tuple[str, str, str]:
        # The time bound is 1 s for the slow filter only (which sleeps 30 s: it overruns 1 s however
        # loaded the machine is); the other extractions get 120 s. The bounds come from [track].
        quick = ExtractionPool.from_settings(
            Settings(track=TrackSettings(extract_workers=1, extract_timeout=1))
        )
        pool = ExtractionPool.from_settings(
            Settings(track=TrackSettings(extract_timeout=120, extract_memory=512)), workers=1
        )
        try:
            with pytest.raises(ExtractError) as slow:
                await quick(filtered("slow"), filters)
            with pytest.raises(ExtractError) as greedy:
                await pool(filtered("greedy"), filters)
            return str(slow.value), str(greedy.value), await pool(SOURCES, None)
        finally:
            await quick.close()
            await pool.close()

    slow, greedy, after = asyncio.run(go())
    assert slow == "the extraction of 'https://example.org/terms' took more than 1 seconds and was stopped"
    assert (
        greedy
        == "the extraction of 'https://example.org/terms' needed more than 512 MiB of memory and was stopped"
    )
    assert after == "Be kind."


PARENT = """
import asyncio, os, sys, time
from ota.worker import Worker

async def main():
    worker = await Worker.start()
    await worker.call(os.getpid)  # answered: the child has asked the kernel to die with its parent
    print(worker.pid, flush=True)
    await worker.call(time.sleep, 300)

asyncio.run(main())
"""


def test_a_child_busy_with_a_long_call_dies_with_its_parent() -> None:
    """Killing the process that started a child (SIGKILL: no clean-up runs) ends the child at once,
    even in the middle of a call, instead of letting it finish its work for nobody."""
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    # The kernel signals a child whose parent died as part of the parent's exit: once the parent is
    # reaped, the child is dead or has SIGKILL pending, however slow the machine (the call would
    # last 300 s otherwise).
    assert dying(child)
