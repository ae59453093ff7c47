"""The local executor passes the shipped ``ExecutorContract`` (a cluster executor will inherit it too)."""

from __future__ import annotations

import pytest

from canvascraft.jobs.executor import LocalProcessExecutor
from canvascraft.testing.executors import ExecutorContract


class TestLocalProcessExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self) -> LocalProcessExecutor:
        return LocalProcessExecutor()


class TestWarmProcessExecutor(ExecutorContract):
    """The same contract with jobs forked from the warm server, each under a supervisor of its own."""

    @pytest.fixture
    def executor(self) -> LocalProcessExecutor:
        return LocalProcessExecutor(warm=True)
