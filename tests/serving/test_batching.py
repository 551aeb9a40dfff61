"""The batcher's promise that work no answer waits for (statistics, the drift sample)
never delays an answer."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from mlopslab.serving.batching import Batcher


def test_after_batch_work_runs_once_the_answers_are_out() -> None:
    release, seen = threading.Event(), []

    def slow_after(feeds: dict[str, np.ndarray]) -> None:
        release.wait(10)  # a slow statistics pass: the answer must not wait for it
        seen.append(feeds["x"].shape[0])

    async def go() -> list[dict[str, np.ndarray]]:
        batcher = Batcher(lambda feeds: {"y": feeds["x"] * 2}, 8, 0.001, 16, after=slow_after)
        batcher.start()
        try:
            return [await asyncio.wait_for(batcher.submit({"x": np.ones((3, 2))}, 3), 2)
                    for _ in range(2)]
        finally:
            await batcher.stop()

    answers = asyncio.run(go())
    assert [a["y"].tolist() for a in answers] == [[[2.0, 2.0]] * 3] * 2
    assert seen == []  # both answered while the first batch's after-work still waited
    release.set()
