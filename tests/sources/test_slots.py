"""An owner's concurrency cap: never more holders than slots, waiters served in order."""

from __future__ import annotations

import asyncio

import pytest

from ownergraph.sources.slots import Slots


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
