"""An owner call's guards: its concurrency cap (never more holders than slots, waiters
served in order) and its timeout (asyncio.timeout's semantics)."""

from __future__ import annotations

import asyncio

import pytest

from ownergraph.sources.slots import Slots, Within


async def hold(slots: Slots, name: str, log: list[str], release: asyncio.Event) -> None:
    async with slots:
        log.append(name)
        await release.wait()


async def test_no_more_holders_than_slots_and_waiters_in_arrival_order() -> None:
    slots, log, release = Slots(2), [], asyncio.Event()
    tasks = [asyncio.create_task(hold(slots, str(i), log, release)) for i in range(5)]
    await asyncio.sleep(0)
    assert log == ["0", "1"] and slots.free == 0
    release.set()
    await asyncio.gather(*tasks)
    assert log == ["0", "1", "2", "3", "4"]
    assert slots.free == 2


async def test_a_waiter_cancelled_before_its_turn_leaves_the_queue() -> None:
    slots, log, release = Slots(1), [], asyncio.Event()
    first = asyncio.create_task(hold(slots, "first", log, release))
    gone = asyncio.create_task(hold(slots, "gone", log, release))
    last = asyncio.create_task(hold(slots, "last", log, release))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    await asyncio.gather(first, last)
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert log == ["first", "last"] and slots.free == 1


async def test_a_waiter_cancelled_once_handed_a_slot_passes_it_on() -> None:
    slots, log, release = Slots(1), [], asyncio.Event()
    async with slots:
        handed = asyncio.create_task(hold(slots, "handed", log, release))
        after = asyncio.create_task(hold(slots, "after", log, release))
        await asyncio.sleep(0)
    handed.cancel()  # its slot was handed over on leaving the block, before it ran
    release.set()
    await asyncio.gather(after)
    with pytest.raises(asyncio.CancelledError):
        await handed
    assert log == ["after"] and slots.free == 1


def test_a_cap_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        Slots(0)


async def test_a_block_that_outlasts_its_time_raises_timeout_error() -> None:
    with pytest.raises(TimeoutError):
        async with Within(0.01):
            await asyncio.sleep(1)
    # The task is not left cancelled: it goes on awaiting.
    await asyncio.sleep(0)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_block_within_its_time_ends_as_it_would_and_cancels_the_timer() -> None:
    within = Within(0.05)
    async with within:
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)  # the timer, had it stayed, would have cancelled this
    with pytest.raises(ValueError, match="own"):
        async with Within(1):
            raise ValueError("its own error")


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    entered = asyncio.Event()

    async def guarded() -> None:
        async with Within(10):
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(guarded())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_outer_timeout_is_the_outer_ones_when_it_expires_first() -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            async with Within(10):
                await asyncio.sleep(1)
    # And the inner one, expiring first, is caught by its own block only.
    async with asyncio.timeout(10):
        with pytest.raises(TimeoutError):
            async with Within(0.01):
                await asyncio.sleep(1)
