"""Every registered trainer passes the shipped ``TrainerContract``."""

from __future__ import annotations

import pytest

from canvascraft.testing.trainers import TrainerContract
from canvascraft.training import all_trainers
from canvascraft.training.trainers import Trainer


class TestEveryTrainer(TrainerContract):
    """Every classifier on the contract's default data; generators prove it on their own inputs
    (``tests/training/test_flow.py``)."""

    @pytest.fixture(params=[t.name for t in all_trainers() if t.objective.task == "classify"])
    def trainer_class(self, request: pytest.FixtureRequest) -> type[Trainer]:
        return next(t for t in all_trainers() if t.name == request.param)
