"""Group commit: concurrent calls share one batch, results go back to the right caller, errors to all."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

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


def first_batch_held() -> tuple[list[list[int]], asyncio.Event, Callable[[Sequence[int]], Awaitable[list[int]]]]:
    """A batch runner echoing its items whose first batch stays in flight until the event is set."""
    batches: list[list[int]] = []
    release_first = asyncio.Event()

    async def write(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            await release_first.wait()
        return list(items)

    return batches, release_first, write


async def test_with_room_for_two_batches_a_late_call_does_not_wait_for_the_batch_in_flight() -> None:
    batches, release_first, write = first_batch_held()
    coalesce = Coalescer(write, parallel=lambda: 2)
    first = asyncio.ensure_future(asyncio.gather(coalesce(1), coalesce(2)))
    await asyncio.sleep(0)  # the first batch is in flight
    assert await asyncio.wait_for(coalesce(3), 1) == 3  # its own batch, while the first is still out
    assert await asyncio.wait_for(asyncio.gather(coalesce(4), coalesce(5)), 1) == [4, 5]
    assert not first.done()
    release_first.set()
    assert await first == [1, 2]
    assert batches == [[1, 2], [3], [4, 5]]


async def test_with_room_for_one_batch_calls_wait_and_share_the_next_one() -> None:
    batches, release_first, write = first_batch_held()
    coalesce = Coalescer(write)
    first = asyncio.ensure_future(coalesce(1))
    await asyncio.sleep(0)
    later = asyncio.ensure_future(asyncio.gather(coalesce(2), coalesce(3)))
    await asyncio.sleep(0.01)
    assert not later.done() and batches == [[1]]  # they wait for the batch in flight
    release_first.set()
    assert (await first, await later) == (1, [2, 3])
    assert batches == [[1], [2, 3]]
