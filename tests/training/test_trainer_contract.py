"""Every registered trainer passes the shipped ``TrainerContract``."""

from __future__ import annotations

import pytest

from canvascraft.testing.trainers import TrainerContract
from canvascraft.training import all_trainers
from canvascraft.training.trainers import Trainer


class TestEveryTrainer(TrainerContract):
    @pytest.fixture(params=[t.name for t in all_trainers()])
    def trainer_class(self, request: pytest.FixtureRequest) -> type[Trainer]:
        return next(t for t in all_trainers() if t.name == request.param)
