"""Dialog sessions: compare-and-set saves across workers, and per-user locks that never pile up."""

from __future__ import annotations

import asyncio

import pytest

from bot.handlers.locks import UserLocks
from bot.models import DialogSession, Follower, ProcessedMessage
from bot.services import dedupe, interactions, sessions
from tests.conftest import SATURDAY_MORNING, TEST_DATABASE, record_asyncpg_statements


async def test_the_second_of_two_concurrent_saves_loses(database: str) -> None:
    first, second = await sessions.load("o_1"), await sessions.load("o_1")
    first.dialog, second.dialog = "booking", "reschedule"
    assert await sessions.save(first, SATURDAY_MORNING)
    assert not await sessions.save(second, SATURDAY_MORNING)
    reloaded = await sessions.load("o_1")
    assert reloaded.dialog == "booking" and reloaded.version == 1
    reloaded.step = "plate"
    assert await sessions.save(reloaded, SATURDAY_MORNING)
    assert (await DialogSession.get(openid="o_1")).version == 2
    assert not await sessions.save(first, SATURDAY_MORNING)  # stale copy


async def test_user_locks_serialise_one_user_and_are_dropped_when_idle() -> None:
    locks = UserLocks()
    order: list[str] = []

    async def work(user: str, tag: str) -> None:
        async with locks.hold(user):
            order.append(f"{tag}+")
            await asyncio.sleep(0.01)
            order.append(f"{tag}-")

    await asyncio.gather(work("a", "1"), work("a", "2"), work("b", "3"))
    assert order.index("1-") < order.index("2+")  # user a's turns never overlap
    assert order.index("3+") < order.index("1-")  # another user is not held up
    assert len(locks) == 0
    for i in range(1000):
        async with locks.hold(f"user{i}"):
            pass
    assert len(locks) == 0


async def test_concurrent_saves_of_many_users_share_statements_and_each_keeps_its_own_outcome(
    database: str,
) -> None:
    # Twenty users already in a dialog, five new ones, and one stale copy: all saved at the same moment.
    for n in range(20):
        first = await sessions.load(f"o_{n}")
        first.dialog = "booking"
        assert await sessions.save(first, SATURDAY_MORNING)
    loaded = [await sessions.load(f"o_{n}") for n in range(25)]
    stale = await sessions.load("o_0")
    sessions.forget("o_0")
    assert await sessions.save(await sessions.load("o_0", fresh=True), SATURDAY_MORNING)  # o_0 moves on
    for n, session in enumerate(loaded):
        session.dialog, session.step, session.data = "booking", "plate", {"n": n}
    stale.step = "when"
    outcomes = await asyncio.gather(*(sessions.save(s, SATURDAY_MORNING) for s in [*loaded[1:], stale]))
    assert outcomes == [True] * 24 + [False]
    rows = {row.openid: row for row in await DialogSession.all()}
    assert len(rows) == 25
    assert all(rows[f"o_{n}"].step == "plate" and rows[f"o_{n}"].data == {"n": n} for n in range(1, 25))
    assert [rows[f"o_{n}"].version for n in (1, 19, 20, 24)] == [2, 2, 1, 1]
    assert rows["o_0"].step == "" and rows["o_0"].version == 2  # the stale save changed nothing
    # The saved copies carry their new versions: the next step saves again.
    assert (await sessions.load("o_24")).version == 1 and loaded[24].version == 1


async def test_two_saves_of_one_user_in_one_batch_still_compare_and_set(database: str) -> None:
    first, second = await sessions.load("o_1"), await sessions.load("o_1")
    first.dialog, second.dialog = "booking", "reschedule"
    outcomes = await asyncio.gather(sessions.save(first, SATURDAY_MORNING), sessions.save(second, SATURDAY_MORNING))
    assert sorted(outcomes) == [False, True]
    row = await DialogSession.get(openid="o_1")
    assert row.version == 1 and row.dialog == ("booking" if outcomes[0] else "reschedule")


@pytest.mark.skipif(TEST_DATABASE != "postgres", reason="asyncpg's prepared statements")
async def test_batches_of_any_size_are_one_statement_prepared_once(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = record_asyncpg_statements(monkeypatch)
    now = SATURDAY_MORNING
    for size in (1, 3, 7):  # new users (INSERT), then the same users again (UPDATE), in batches of `size`
        for _ in range(2):
            loaded = await asyncio.gather(*(sessions.load(f"o_{size}_{n}", fresh=True) for n in range(size)))
            for session in loaded:
                session.dialog, session.step = "booking", session.step + "x"
            assert await asyncio.gather(*(sessions.save(s, now) for s in loaded)) == [True] * size
        for n in range(size):
            dedupe.record(f"m:{size}:{n}", now, done=True, reply="<xml/>")
            interactions.touch(f"o_{size}_{n}", now)
        await dedupe.flush()
        await interactions.flush()
    # New users and known ones saved together.
    mixed = await asyncio.gather(*(sessions.load(o, fresh=True) for o in ("o_new_a", "o_3_0", "o_new_b", "o_7_0")))
    for session in mixed:
        session.dialog, session.step = "booking", "mixed"
    assert await asyncio.gather(*(sessions.save(s, now) for s in mixed)) == [True] * 4
    monkeypatch.undo()
    rows = await DialogSession.filter(openid__startswith="o_").order_by("openid")
    assert len(rows) == 13
    assert {(row.openid, row.step, row.version) for row in rows if row.step == "mixed"} == {
        ("o_new_a", "mixed", 1),
        ("o_new_b", "mixed", 1),
        ("o_3_0", "mixed", 3),
        ("o_7_0", "mixed", 3),
    }
    assert {(row.step, row.version) for row in rows if row.step != "mixed"} == {("xx", 2)}
    assert await ProcessedMessage.all().count() == 11 and await Follower.all().count() == 11
    by_table: dict[str, set[str]] = {}
    for query in sent:
        for table in ("dialog_session", "processed_message", "follower"):
            if f'"{table}"' in query:
                by_table.setdefault(table, set()).add(query)
    # A fixed set of texts, whatever the batch size: asyncpg prepares each once per connection.
    assert {table: len(texts) for table, texts in by_table.items()} == {
        "dialog_session": 6,  # the load; the save of one, new or known; of many, new, known or both
        "processed_message": 1,
        "follower": 1,
    }, by_table
