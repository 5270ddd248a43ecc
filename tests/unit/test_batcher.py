"""The Batcher's promises to the requests that wait on it: each gets its own result or an
error, never a wait for ever, and a request that went away has nothing done for it."""

from __future__ import annotations

import asyncio

import pytest

from api.batching import Batcher


async def test_items_gathered_while_a_batch_runs_go_together_in_order() -> None:
    batches: list[list[int]] = []
    gate = asyncio.Event()

    async def run(items: list[int]) -> list[int | Exception]:
        batches.append(items)
        await gate.wait()
        return [item * 10 for item in items]

    batcher: Batcher[int, int] = Batcher(run)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)  # the first batch, [1], is on its way
    rest = [asyncio.create_task(batcher.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    gate.set()
    assert [await first, *[await task for task in rest]] == [10, 20, 30, 40]
    assert batches == [[1], [2, 3, 4]]
    await batcher.close()


async def test_each_item_gets_its_own_exception() -> None:
    async def run(items: list[int]) -> list[int | Exception]:
        return [ValueError(f"bad {item}") if item % 2 else item for item in items]

    batcher: Batcher[int, int] = Batcher(run)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(4)), return_exceptions=True)
    assert results[0] == 0 and results[2] == 2
    assert [str(r) for r in results[1::2]] == ["bad 1", "bad 3"]
    await batcher.close()


async def test_a_cancelled_request_has_nothing_done_for_it() -> None:
    seen: list[int] = []
    gate = asyncio.Event()

    async def run(items: list[int]) -> list[int | Exception]:
        seen.extend(items)
        await gate.wait()
        return list[int | Exception](items)

    batcher: Batcher[int, int] = Batcher(run)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)
    doomed = asyncio.create_task(batcher.submit(2))
    kept = asyncio.create_task(batcher.submit(3))
    await asyncio.sleep(0)
    doomed.cancel()
    gate.set()
    assert (await first, await kept) == (1, 3)
    assert seen == [1, 3]
    await batcher.close()


async def test_closing_fails_every_waiting_request() -> None:
    async def run(items: list[int]) -> list[int | Exception]:
        await asyncio.Event().wait()  # a batch that never ends
        return list[int | Exception](items)

    batcher: Batcher[int, int] = Batcher(run)
    waiting = [asyncio.create_task(batcher.submit(n)) for n in range(3)]
    await asyncio.sleep(0)
    await batcher.close()
    for task in waiting:
        with pytest.raises(RuntimeError, match="closed"):
            await task
    with pytest.raises(RuntimeError, match="closed"):
        await batcher.submit(9)


async def test_a_batch_that_answers_the_wrong_count_fails_its_items() -> None:
    async def run(items: list[int]) -> list[int | Exception]:
        return list[int | Exception](items[:-1])

    batcher: Batcher[int, int] = Batcher(run)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    await batcher.close()
