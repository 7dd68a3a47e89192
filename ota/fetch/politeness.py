"""Politeness shared by every backend of a fetcher: at most `concurrency` requests in flight
overall, at most `per_host` per host, at least `host_delay` seconds between two starts on one host."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field

from ota.settings import FetchSettings


@dataclass
class _Host:
    slots: asyncio.Semaphore
    pacing: asyncio.Lock = field(default_factory=asyncio.Lock)  # serialises request starts
    next_start: float = float("-inf")


class Politeness:
    """The slots of one fetcher's requests, per host and overall."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._sleep, self._clock = sleep, clock
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _Host] = {}

    @asynccontextmanager
    async def slot(self, key: str, pages: asyncio.Semaphore | None = None) -> AsyncIterator[None]:
        """Hold a per-host and a global slot, the request start spaced from the previous one.

        A browser fetch also holds one of the browser's `pages`, taken before the global slot so
        that fetches queued for the browser do not hold back plain ones.
        """
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(asyncio.Semaphore(self.settings.per_host))
        page_slot: AbstractAsyncContextManager[object] = pages if pages is not None else nullcontext()
        # Per host first, so that requests queued for a busy host do not hold global slots.
        async with host.slots, page_slot:
            async with host.pacing:
                wait = host.next_start - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                await self._global.acquire()
                host.next_start = self._clock() + self.settings.host_delay
            try:
                yield
            finally:
                self._global.release()
