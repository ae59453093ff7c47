"""The generative trainer against hand-written code, and its quality on small real data:
``python bench/generative_bench.py``.

Three sections, each printed beside a baseline measured in the same run, in a temporary workspace
(``CANVASCRAFT_*`` variables set aside, so the user's workspace is never touched):

1. Training throughput: samples/s (training plus validation items over whole epochs) of ``train()``,
   the loop every job runs, with the ``image-flow`` trainer, against a minimal hand-written flow-matching
   loop: the same ``FlowNet`` and initial weights, the same datasets (``load_split`` of
   ``sample-images`` with ``image-flow-starter``), AdamW, ``x_t = (1 - t)·x0 + t·e`` regressed on
   ``e - x0`` with the same label dropout, a validation pass, nothing else. Rounds alternate the two;
   the verdict is the median of the paired ratios. Target: ours / hand loop ≥ 0.9.
2. Generation: pictures/s of ``sample()`` (20 Euler steps, guidance 2, a batch of 64) at 16 and 32 px
   with the trainer's default width, beside the same Euler loop written by hand over the bare network.
3. Quality on small real data: scikit-learn's bundled handwritten digits (real, 8×8 grey), 60 per
   label for 5 labels, enlarged to 32×32 PNGs and imported through the studio; ``image-flow`` trained
   with its defaults (``--epochs`` to shorten) as a real job; its wall time, the job process's CPU
   seconds (read from ``/proc`` while it runs) and the best model's quality figures with their floors.

``--quick``: fewer epochs and rounds (a few minutes). The default quality run takes the trainer's 150
epochs: about 15–30 minutes on two cores.
"""

from __future__ import annotations

import argparse
import io
import itertools
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from brushes_bench import describe_machine
from PIL import Image
from timing import run_interleaved, torch_threads
from torch.nn import functional as F
from torch.utils.data import DataLoader

from canvascraft.config import get_settings
from canvascraft.recipe.compose import item_seed
from canvascraft.services.datasets import import_path
from canvascraft.services.jobs import get_job, launch_training, tick
from canvascraft.services.recipes import load_recipe
from canvascraft.services.workspace import prepare
from canvascraft.tracking.runs import tracking_client
from canvascraft.training import get_trainer, load_split, train
from canvascraft.training.flow import FLOW_MATCHING, FlowNet, sample
from canvascraft.training.quality import NOTE, quality_figures

THROUGHPUT_TARGET = 0.9
RECIPE, TRAINER = "image-flow-starter", "image-flow"
DIGITS, PER_DIGIT = (0, 1, 2, 3, 7), 60
GENERATED, STEPS, GUIDANCE = 64, 20, 2.0
LABELS: list[int | None] = [i % 5 for i in range(GENERATED)]
SEEDS = list(range(GENERATED))


@contextmanager
def temporary_workspace() -> Iterator[Path]:
    saved = {key: value for key, value in os.environ.items() if key.startswith("CANVASCRAFT_")}
    with tempfile.TemporaryDirectory(prefix="canvascraft-generative-bench-") as temporary:
        for key in saved:
            del os.environ[key]
        os.environ["CANVASCRAFT_WORKSPACE"] = str(Path(temporary) / "workspace")
        os.environ["CANVASCRAFT_POOL_TICK_S"] = "0"
        get_settings.cache_clear()
        try:
            prepare()
            yield Path(temporary)
        finally:
            for key in ("CANVASCRAFT_WORKSPACE", "CANVASCRAFT_POOL_TICK_S"):
                os.environ.pop(key, None)
            os.environ.update(saved)
            get_settings.cache_clear()


# --- 1. throughput ------------------------------------------------------------------------------------


def hand_loop(model: FlowNet, train_ds, val_ds, settings: dict) -> None:
    """Flow matching as someone writes it by hand, seeded per epoch like ``train()``."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"],
                                  weight_decay=settings["weight_decay"])  # fmt: skip
    batch = settings["batch_size"]
    size = (model.resolution, model.resolution)
    for epoch in range(1, settings["epochs"] + 1):
        seed = item_seed(settings["seed"], 0, epoch)
        torch.manual_seed(seed)
        for dataset in (train_ds, val_ds):
            dataset.set_epoch(epoch - 1)
        model.train()
        for x, y in DataLoader(
            train_ds, batch_size=batch, shuffle=True, generator=torch.Generator().manual_seed(seed)
        ):
            x0 = F.interpolate(x, size=size, mode="bilinear", antialias=True) if x.shape[-2:] != size else x
            noise, t = torch.randn_like(x0), torch.rand(len(x0))
            free = torch.rand(len(y)) < model.label_dropout
            labels = torch.where(free, torch.full_like(y, model.n_classes), y)
            spread = t.view(-1, 1, 1, 1)
            loss = F.mse_loss(model((1 - spread) * x0 + spread * noise, t, labels), noise - x0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for x, y in DataLoader(val_ds, batch_size=batch):
                FLOW_MATCHING.loss(model, x, y)


def throughput(epochs: int, repeat: int, scratch: Path) -> tuple[list[str], bool]:
    split = load_split("sample-images", load_recipe(RECIPE), 0.2, 0)
    trainer = get_trainer(TRAINER)(epochs=epochs, patience=1000)
    settings = dict(trainer.settings)
    n_classes = len(split.classes)

    def ours() -> float:
        model = trainer.build_model(split.input_shape, n_classes)
        start = time.perf_counter()
        train(model, split.train, split.val, settings, device="cpu", checkpoint_dir=scratch / "ours",
              objective=FLOW_MATCHING)  # fmt: skip
        return time.perf_counter() - start

    def hand() -> float:
        model = trainer.build_model(split.input_shape, n_classes)
        assert isinstance(model, FlowNet)
        start = time.perf_counter()
        hand_loop(model, split.train, split.val, settings)
        return time.perf_counter() - start

    results = run_interleaved({"ours": ours, "hand": hand}, repeat, warm_ups=[])
    samples = epochs * (len(split.train) + len(split.val))
    ours_rate = [samples / s for s in results["ours"]]
    hand_rate = [samples / s for s in results["hand"]]
    ratio = statistics.median(o / h for o, h in zip(ours_rate, hand_rate, strict=True))
    lines = [
        f"{len(split.train)} training + {len(split.val)} validation pictures, {epochs} epochs, "
        f"{repeat} rounds",
        "| loop | samples/s (median) | min | max |",
        "|---|---|---|---|",
        _rate_row("hand-written flow matching", hand_rate),
        _rate_row("train() with image-flow", ours_rate),
        f"ratio ours / hand (median of rounds): **{ratio:.2f}** (target ≥ {THROUGHPUT_TARGET})",
    ]  # fmt: skip
    return lines, ratio >= THROUGHPUT_TARGET


def _rate_row(name: str, rates: list[float]) -> str:
    return f"| {name} | {statistics.median(rates):.1f} | {min(rates):.1f} | {max(rates):.1f} |"


# --- 2. generation ------------------------------------------------------------------------------------


def hand_sample(net: FlowNet, labels: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The same Euler steps with classifier-free guidance, over the bare network."""
    x = noise.clone()
    free = torch.full_like(labels, net.n_classes)
    times = torch.linspace(1.0, 0.0, STEPS + 1)
    with torch.no_grad():
        for now, then in itertools.pairwise(times):
            t = now.expand(len(x))
            both = net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, free]))
            labelled, unlabelled = both.chunk(2)
            x = x + (then - now) * (unlabelled + GUIDANCE * (labelled - unlabelled))
    return x


def generation(repeat: int) -> list[str]:
    lines = ["| size | ours: sample() pictures/s | hand Euler loop pictures/s | ratio |", "|---|---|---|---|"]
    for resolution in (16, 32):
        torch.manual_seed(0)
        net = FlowNet(3, resolution, 5, 32, 0.1).eval()
        shape = (3, resolution, resolution)
        noise = torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in SEEDS])

        def ours(net: FlowNet = net) -> float:
            start = time.perf_counter()
            sample(net, LABELS, SEEDS, steps=STEPS, guidance=GUIDANCE)
            return time.perf_counter() - start

        def hand(net: FlowNet = net, noise: torch.Tensor = noise) -> float:
            start = time.perf_counter()
            hand_sample(net, torch.tensor(LABELS), noise)
            return time.perf_counter() - start

        times = run_interleaved({"ours": ours, "hand": hand}, repeat)
        mine, theirs = (GENERATED / statistics.median(times[k]) for k in ("ours", "hand"))
        lines.append(f"| {resolution} px | {mine:.1f} | {theirs:.1f} | {mine / theirs:.2f} |")
    return lines


# --- 3. quality on real digits ------------------------------------------------------------------------


def write_digits(folder: Path) -> int:
    from sklearn.datasets import load_digits

    digits = load_digits()
    written = 0
    for digit in DIGITS:
        target = folder / f"digit-{digit}"
        target.mkdir(parents=True)
        for index in np.flatnonzero(digits.target == digit)[:PER_DIGIT]:
            grey = (digits.images[index] / 16.0 * 255).astype(np.uint8)
            picture = Image.fromarray(255 - grey).resize((32, 32), Image.Resampling.BILINEAR).convert("RGB")
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG")
            (target / f"{index}.png").write_bytes(buffer.getvalue())
            written += 1
    return written


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quality(epochs: int | None, scratch: Path) -> list[str]:
    count = write_digits(scratch / "digits")
    import_path(scratch / "digits", "digits")
    options = {"epochs": epochs} if epochs else {}
    started = time.perf_counter()
    job_id = launch_training("digits", RECIPE, TRAINER, **options)
    cpu, job = 0.0, get_job(job_id)
    while job.state not in ("succeeded", "failed", "cancelled", "lost"):
        tick()
        job = get_job(job_id)
        if job.pid and (used := cpu_seconds(job.pid)) is not None:
            cpu = used
        time.sleep(0.5)
    wall = time.perf_counter() - started
    if job.state != "succeeded":
        return [f"the quality run {job.state}: {job.error_tail}"]
    run = tracking_client().get_run(job.mlflow_run_id or "")
    epochs_done = len((job.progress or {}).get("history", []))
    lines = [
        f"{count} real digits ({', '.join(map(str, DIGITS))}; scikit-learn's bundled set, 8×8 enlarged "
        "to 32 px), "
        f"{epochs_done} epochs with the trainer's defaults: {wall / 60:.1f} min wall, {cpu / 60:.1f} CPU-min "
        "(the job process, sampled from /proc)",
        f"figures {NOTE}:",
        "| figure | value | floor |",
        "|---|---|---|",
    ]  # fmt: skip
    for figure in quality_figures(run.data.metrics):
        floor = "—" if figure.floor is None else figure.shown(figure.floor)
        lines.append(f"| {figure.label} | {figure.shown()} | {floor} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs of the quality run (default: the trainer's)"
    )
    parser.add_argument("--threads", type=int, default=None)
    for section in ("throughput", "generation", "quality"):
        parser.add_argument(f"--skip-{section}", action="store_true")
    args = parser.parse_args(argv)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    print("\n".join(describe_machine()))
    threads = args.threads or torch.get_num_threads()
    with temporary_workspace() as scratch, torch_threads(threads):
        if not args.skip_throughput:
            print("\n## 1. training throughput", flush=True)
            lines, _ = throughput(2 if args.quick else 4, 2 if args.quick else 3, scratch)
            print("\n".join(lines), flush=True)
        if not args.skip_generation:
            print("\n## 2. generation", flush=True)
            print("\n".join(generation(2 if args.quick else 5)), flush=True)
        if not args.skip_quality:
            print("\n## 3. quality on real digits", flush=True)
            epochs = args.epochs or (10 if args.quick else None)
            print("\n".join(quality(epochs, scratch)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
