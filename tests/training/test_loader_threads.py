"""DataLoader workers run the image brushes without OpenCV's own thread pool: with a worker per core,
a pool per worker would put cores × cores threads on the machine."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import pytest
import torch
from torch.utils.data import Dataset

from canvascraft.training.loop import _loader


class OpenCVThreads(Dataset[torch.Tensor]):
    """Each item is the OpenCV thread count of the process that made it."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.tensor(cv2.getNumThreads())


@pytest.fixture
def three_opencv_threads() -> Iterator[None]:
    """A pool of three in the training process, whatever this machine's cores, for workers to inherit."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    yield
    cv2.setNumThreads(before)


@pytest.mark.usefixtures("three_opencv_threads")
def test_opencv_threads_are_off_inside_dataloader_workers() -> None:
    loader = _loader(OpenCVThreads(), 2, False, 0, 2, torch.device("cpu"))
    counts = torch.cat(list(loader)).tolist()
    assert counts == [1, 1, 1, 1]  # setNumThreads(0): OpenCV runs each call on the calling thread
    assert cv2.getNumThreads() == 3  # the training process keeps its own pool


@pytest.mark.usefixtures("three_opencv_threads")
def test_loading_in_the_training_process_keeps_its_pool() -> None:
    loader = _loader(OpenCVThreads(), 2, False, 0, 0, torch.device("cpu"))
    assert torch.cat(list(loader)).tolist() == [3] * 4
