"""Group commit: concurrent calls share one batch, results go back to the right caller, errors to all."""

import asyncio
from collections.abc import Sequence

import pytest

from bot.services.batching import Coalescer


async def test_concurrent_calls_share_batches_and_get_their_own_results() -> None:
    batches: list[list[int]] = []

    async def double(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        await asyncio.sleep(0.01)
        return [i * 2 for i in items]

    coalesce = Coalescer(double)
    results = await asyncio.gather(*(coalesce(i) for i in range(10)))
    assert results == [i * 2 for i in range(10)]
    assert batches == [list(range(10))]  # ten callers, one round trip
    late = asyncio.gather(*(coalesce(i) for i in range(10, 13)))
    await asyncio.sleep(0)
    more = await asyncio.gather(late, coalesce(13))
    assert more == [[20, 22, 24], 26]


async def test_a_failing_batch_fails_its_callers_and_the_next_batch_still_runs() -> None:
    calls = 0

    async def flaky(items: Sequence[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return [s.upper() for s in items]

    coalesce = Coalescer(flaky)
    with pytest.raises(RuntimeError):
        await coalesce("a")
    assert await coalesce("b") == "B"


async def test_write_behind_items_are_written_and_flush_waits_for_them() -> None:
    written: list[str] = []

    async def write(items: Sequence[str]) -> list[None]:
        await asyncio.sleep(0.01)
        written.extend(items)
        return [None] * len(items)

    coalesce: Coalescer[str, None] = Coalescer(write)
    for item in ("a", "b", "c"):
        coalesce.submit(item)
    assert written == []
    await coalesce.flush()
    assert written == ["a", "b", "c"]
