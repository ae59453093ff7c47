"""An encrypted workspace: its stored files and checkpoints are readable with the key and reveal
nothing without it; keys rotate; files stored before the key was set are sealed by ``apply``."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from canvascraft.cli import app as cli
from canvascraft.config import get_settings
from canvascraft.data.reads import item_bytes, open_version
from canvascraft.errors import ConfigError
from canvascraft.services.datasets import import_path
from canvascraft.services.jobs import launch_training, resume_job, wait_for
from canvascraft.store.migrate import upgrade
from canvascraft.store.sealing import MAGIC, new_key
from canvascraft.training.loop import read_tensors, save_checkpoint

KEY_A, KEY_B = new_key(), new_key()


def use_keys(monkeypatch: pytest.MonkeyPatch, keys: str | None) -> None:
    if keys is None:
        monkeypatch.delenv("CANVASCRAFT_ENCRYPTION_KEYS", raising=False)
    else:
        monkeypatch.setenv("CANVASCRAFT_ENCRYPTION_KEYS", keys)
    get_settings.cache_clear()


def picture(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def import_pictures(tmp_path: Path) -> dict[str, bytes]:
    """Six small pictures in two labels imported as ``art`` into a migrated workspace."""
    upgrade()
    folder = tmp_path / "art"
    files = {
        f"{label}/{label}-{i}.png": picture(10 * ord(label[0]) + i)
        for label in ("ink", "oil")
        for i in range(3)
    }
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    import_path(folder, "art")
    return files


def stored_files(workspace: Path) -> list[Path]:
    return [p for p in (workspace / "blobs").rglob("*") if p.is_file()]


def test_a_sealed_workspace_reads_with_its_key_and_reveals_nothing_without_it(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keys(monkeypatch, KEY_A)
    files = import_pictures(tmp_path)
    on_disk = stored_files(workspace)
    assert len(on_disk) == len(files)
    for path in on_disk:
        data = path.read_bytes()
        assert data.startswith(MAGIC) and b"PNG" not in data  # no picture is readable as a file
    items = open_version("art").items
    assert sorted(item_bytes(item.sha256) for item in items) == sorted(files.values())

    use_keys(monkeypatch, None)
    with pytest.raises(ConfigError, match=r"is encrypted and no key is set.*CANVASCRAFT_ENCRYPTION_KEYS"):
        item_bytes(items[0].sha256)
    use_keys(monkeypatch, KEY_B)
    with pytest.raises(ConfigError, match="a key that is not in CANVASCRAFT_ENCRYPTION_KEYS"):
        item_bytes(items[0].sha256)


def test_checkpoints_are_sealed_and_a_changed_byte_is_caught(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keys(monkeypatch, KEY_A)
    model = torch.nn.Linear(3, 2)
    path = workspace / "best.safetensors"
    workspace.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, path, {"epoch": 1})
    assert path.read_bytes().startswith(MAGIC) and b"weight" not in path.read_bytes()
    assert torch.equal(read_tensors(path)["weight"], model.weight.detach())

    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="changed after it was written"):
        read_tensors(path)


def test_keys_rotate_and_apply_seals_files_stored_before_the_key(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = import_pictures(tmp_path)  # no key yet: stored plain
    sha = open_version("art").items[0].sha256
    assert not any(p.read_bytes().startswith(MAGIC) for p in stored_files(workspace))

    use_keys(monkeypatch, KEY_A)
    assert item_bytes(sha) in files.values()  # plain files still read once a key is set
    result = CliRunner().invoke(cli, ["encryption", "apply"])
    assert result.exit_code == 0, result.output
    assert f"sealed {len(files)} files" in result.output
    assert all(p.read_bytes().startswith(MAGIC) for p in stored_files(workspace))

    use_keys(monkeypatch, f"{KEY_B},{KEY_A}")  # a new key first: both open, the new one seals
    assert item_bytes(sha) in files.values()
    assert CliRunner().invoke(cli, ["encryption", "apply"]).exit_code == 0
    use_keys(monkeypatch, KEY_B)  # the old key dropped after apply
    assert item_bytes(sha) in files.values()
    use_keys(monkeypatch, KEY_A)
    with pytest.raises(ConfigError):
        item_bytes(sha)


def test_a_job_trains_and_resumes_in_a_sealed_workspace(
    sample_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keys(monkeypatch, KEY_A)
    first = wait_for(launch_training("sample-table", "table-starter", "table-mlp", epochs=1), timeout_s=240)
    assert first.state == "succeeded", first.error
    folder = sample_workspace / "jobs" / str(first.id) / "checkpoints"
    weights = sorted(folder.glob("*.safetensors"))
    assert weights and all(p.read_bytes().startswith(MAGIC) for p in weights)
    resumed = wait_for(resume_job(first.id), timeout_s=240)  # the job process opened its own checkpoint
    assert resumed.state == "succeeded", resumed.error
