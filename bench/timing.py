"""Timing helpers shared by the benchmarks (each bench runs as a script, so this folder is on the path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch


def run_interleaved(
    measures: dict[str, Callable[[], Any]], repeat: int, warm_ups: list[Callable[[], Any]] | None = None
) -> dict[str, list[Any]]:
    """Warm-ups first (by default one call of each measure, not kept), then ``repeat`` rounds, the order
    rotated every round and reversed every other, so drift on a noisy machine favours none."""
    for warm_up in warm_ups if warm_ups is not None else list(measures.values()):
        warm_up()
    results: dict[str, list[Any]] = {name: [] for name in measures}
    names = list(measures)
    for repetition in range(repeat):
        shift = repetition % len(names)
        order = names[shift:] + names[:shift]
        if repetition % 2:
            order.reverse()
        for name in order:
            results[name].append(measures[name]())
    return results


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run a block with torch's intra-op thread count set, restoring it afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
