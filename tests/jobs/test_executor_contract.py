"""The local executor passes the shipped ``ExecutorContract`` (a cluster executor will inherit it too)."""

from __future__ import annotations

import pytest

from canvascraft.jobs.executor import LocalProcessExecutor
from canvascraft.testing.executors import ExecutorContract


class TestLocalProcessExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self) -> LocalProcessExecutor:
        return LocalProcessExecutor()
