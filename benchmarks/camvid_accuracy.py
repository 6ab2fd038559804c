"""CamVid 96x128 validation mIoU of a few designs, in float32 and under photonic noise.

What it measures, per design of ``DESIGNS`` (or the ones picked with ``--designs``):

- network size: parameters and MACs (from the analytic hardware model's layer extraction);
- training: wall time of float32 training on this machine (``evaluators.training.train``,
  one torch thread) and the float32 validation mIoU (``evaluators.accuracy.clean_miou``);
- noise, before fine-tuning: validation mIoU through the photonic noise and quantization model
  (``evaluators.accuracy.noisy_miou``, default ``NoiseConfig`` sigmas, DAC = ADC bits from
  ``--bits``, the rest of the hardware from the default preset), mean ± std over ``--chips``
  simulated chips;
- noise, after fine-tuning: the float network fine-tuned noise-aware at each of
  ``--finetune-bits`` (``evaluators.accuracy.finetune_noise_aware``, a fresh chip every step),
  then scored again on evaluation chips it never trained on; plus its float32 mIoU.

Optionally (``--gain-sweep DESIGN``) the float network of one design is scored at several ADC
gains (``NoiseConfig.adc_gain``), which sets the ADC full scale n/G and matters most at low bits.

Only the train split is trained on; every score is on the validation split (the CamVid test
split is held out and not used). Every run is seeded (weights, shuffling, augmentation, chips),
so a rerun on the same machine reproduces the mIoU figures; times vary with load.

Trained float weights are kept under ``--cache`` (with their training time), keyed by the
design and the training recipe, so that a rerun, or a run that adds noise settings, does not
train again; ``--retrain`` ignores the cache.

Usage (from the repository root). The measured table of benchmarks/RESULTS.md came from two
runs, the best design with a longer budget (about 13 min on one core), the others after it
(about 25 min):

    .venv/bin/python benchmarks/camvid_accuracy.py --designs standard-w32 --epochs 60 \\
        --lr 5e-3 --batch-size 8 --finetune-epochs 2 --bits 6 4 --finetune-bits 6
    .venv/bin/python benchmarks/camvid_accuracy.py \\
        --designs standard-w16 standard-w24-it123 depthwise-w16 --epochs 40 --lr 5e-3 \\
        --batch-size 8 --finetune-epochs 2 --bits 6 4 --finetune-bits 6 --gain-sweep standard-w16

``--designs NAME ...`` picks designs, ``--epochs``, ``--lr``, ``--batch-size``, ``--scale``
(augmentation zoom range) set the float recipe, ``--finetune-epochs`` / ``--finetune-lr`` the
noise-aware fine-tuning, ``--bits`` the converter resolutions scored, ``--adc-gain`` the ADC gain.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from benchmark_support import machine, publish
from torch import nn

from evaluators.accuracy import NoisyScore, clean_miou, finetune_noise_aware, noisy_miou
from evaluators.data import Augmentation, SegmentationData, load_dataset
from evaluators.hardware import HardwareConfig, cost_network, extract_layers
from evaluators.network import build_network
from evaluators.noise import NoiseConfig
from evaluators.training import train

DESIGNS: dict[str, dict[str, Any]] = {
    # small: inverted-residual (MobileNetV2) blocks everywhere
    "depthwise-w16": {"arch.width": 16, "arch.block": "depthwise", "arch.expansion": 4},
    # mid: the family's default network (ResNet basic blocks, width 16)
    "standard-w16": {"arch.width": 16, "arch.block": "standard"},
    # weight-shared iterations: one block per stage run 1, 2, 3 times
    "standard-w24-it123": {
        "arch.width": 24,
        "arch.block": "standard",
        "arch.stage1.iterations": 1,
        "arch.stage2.iterations": 2,
        "arch.stage3.iterations": 3,
    },
    # the best within the CPU budget: widest standard network (3x3; 5x5 kernels cost ~3x the
    # MACs and ~4x the noisy-simulation time)
    "standard-w32": {"arch.width": 32, "arch.block": "standard"},
}
GAINS = (1.0, 2.0, 4.0, 8.0, 16.0)


@dataclass(frozen=True)
class Recipe:
    """Float32 training settings (passed to ``evaluators.training.train``)."""

    epochs: int
    lr: float
    batch_size: int
    scale: tuple[float, float]
    weight_decay: float
    seed: int
    logit_adjust: float = 0.0

    def augmentation(self) -> Augmentation:
        return Augmentation(scale=self.scale)

    def key(self, params: dict[str, Any]) -> str:
        recipe = asdict(self)
        if not self.logit_adjust:
            del recipe["logit_adjust"]  # keeps the keys of plain cross-entropy runs stable
        blob = json.dumps([params, recipe], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class LogitAdjusted(nn.Module):
    """Training-time logit adjustment (Menon et al., ICLR 2021, arXiv 2007.07314).

    While training, ``tau * log(prior)`` is added to the logits before the (unchanged)
    cross-entropy of ``evaluators.training.train``, so the network's own logits learn
    class-balanced scores: rare classes (pole, sign, bicyclist: about 1 % of CamVid pixels each)
    are no longer drowned by road and sky. In eval mode it is the bare network, so scoring,
    noise and export see no difference. ``tau = 0`` is plain cross-entropy.
    """

    def __init__(self, network: nn.Module, log_prior: torch.Tensor, tau: float) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("bias", tau * log_prior.view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.network(x)
        return logits + self.bias if self.training else logits


def log_prior(data: SegmentationData) -> torch.Tensor:
    """Log of each class's share of the labelled train pixels (train split only)."""
    labels = data.train_labels.long().flatten()
    counts = torch.bincount(labels[labels != data.ignore_index], minlength=data.num_classes)
    return (counts.double() / counts.sum()).clamp(min=1e-6).log().float()


def trainable(network: nn.Module, data: SegmentationData, tau: float) -> nn.Module:
    """What to hand to ``train`` / ``finetune_noise_aware``: the network, wrapped if ``tau``."""
    return LogitAdjusted(network, log_prior(data), tau) if tau else network


@dataclass
class DesignResult:
    name: str
    params: int
    macs: float
    train_s: float
    miou_float: float
    before: dict[int, NoisyScore] = field(default_factory=dict)  # bits -> score
    after: dict[int, NoisyScore] = field(default_factory=dict)  # fine-tuned at bits -> score
    after_float: dict[int, float] = field(default_factory=dict)  # float mIoU after fine-tuning
    finetune_s: dict[int, float] = field(default_factory=dict)


def noise_config(bits: int, adc_gain: float) -> NoiseConfig:
    """Default noise of the default hardware preset at ``bits`` DACs and ADC."""
    hardware = HardwareConfig.from_params({"hw.bits": bits, "hw.adc_bits": bits})
    return NoiseConfig.from_hardware(hardware, adc_gain=adc_gain)


def size_of(network: nn.Module, data: SegmentationData) -> tuple[int, float]:
    """Parameters and MACs per inference at the data's image size."""
    height, width = data.image_size
    layers = extract_layers(network, (1, 3, height, width))
    metrics = cost_network(layers, HardwareConfig.from_params({})).metrics()
    return sum(p.numel() for p in network.parameters()), metrics["macs"]


def trained_network(
    params: dict[str, Any],
    data: SegmentationData,
    recipe: Recipe,
    cache: Path | None,
    retrain: bool,
) -> tuple[nn.Module, float]:
    """The float-trained network of a design and its training time, from the cache if there."""
    network = build_network(params, data.num_classes, seed=recipe.seed)
    path = cache / f"{recipe.key(params)}.pt" if cache is not None else None
    if path is not None and path.exists() and not retrain:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        network.load_state_dict(saved["state"])
        network.eval()
        return network, float(saved["train_s"])
    result = train(
        trainable(network, data, recipe.logit_adjust),
        data,
        epochs=recipe.epochs,
        seed=recipe.seed,
        device="cpu",
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        weight_decay=recipe.weight_decay,
        augment=recipe.augmentation(),
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state": network.state_dict(), "train_s": result.seconds}, path)
    return network, result.seconds


def measure(
    name: str,
    params: dict[str, Any],
    data: SegmentationData,
    recipe: Recipe,
    args: argparse.Namespace,
) -> DesignResult:
    network, train_s = trained_network(params, data, recipe, args.cache, args.retrain)
    n_params, macs = size_of(network, data)
    result = DesignResult(name, n_params, macs, train_s, clean_miou(network, data, "cpu"))
    log(f"{name}: float mIoU {result.miou_float:.4f}, trained in {train_s:.0f} s")
    for bits in args.bits:
        result.before[bits] = noisy_miou(
            network,
            data,
            noise_config(bits, args.adc_gain),
            samples=args.chips,
            seed=args.seed,
            device="cpu",
        )
        log(f"{name}: {bits}-bit before fine-tuning {fmt(result.before[bits])}")
    for bits in args.finetune_bits:
        tuned = copy.deepcopy(network)
        noise = noise_config(bits, args.adc_gain)
        run = finetune_noise_aware(
            trainable(tuned, data, recipe.logit_adjust),
            data,
            noise,
            epochs=args.finetune_epochs,
            seed=args.seed,
            lr=args.finetune_lr,
            device="cpu",
        )
        result.finetune_s[bits] = run.seconds
        result.after[bits] = noisy_miou(
            tuned, data, noise, samples=args.chips, seed=args.seed, device="cpu"
        )
        result.after_float[bits] = clean_miou(tuned, data, "cpu")
        log(
            f"{name}: {bits}-bit after fine-tuning ({run.seconds:.0f} s) {fmt(result.after[bits])},"
            f" float {result.after_float[bits]:.4f}"
        )
    return result


def gain_sweep(
    name: str, data: SegmentationData, recipe: Recipe, args: argparse.Namespace
) -> list[str]:
    """Markdown rows: noisy mIoU (float network, no fine-tuning) per ADC gain and bit width."""
    network, _ = trained_network(DESIGNS[name], data, recipe, args.cache, args.retrain)
    header = "| ADC gain | " + " | ".join(f"{b}-bit mIoU" for b in args.bits) + " |"
    lines = [header, "|---:|" + "---:|" * len(args.bits)]
    for gain in args.gains:
        cells = []
        for bits in args.bits:
            score = noisy_miou(
                network,
                data,
                noise_config(bits, gain),
                samples=args.chips,
                seed=args.seed,
                device="cpu",
            )
            cells.append(fmt(score))
            log(f"gain sweep {name}: G = {gain:g}, {bits}-bit {fmt(score)}")
        lines.append(f"| {gain:g} | " + " | ".join(cells) + " |")
    return lines


def logit_text(tau: float) -> str:
    if not tau:
        return "plain cross-entropy"
    return f"cross-entropy with logit adjustment tau = {tau:g} (training only)"


def fmt(score: NoisyScore) -> str:
    return f"{score.miou:.3f} ± {score.miou_std:.3f}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def table(results: Sequence[DesignResult], args: argparse.Namespace) -> list[str]:
    """The main markdown table: one row per design."""
    head = ["design", "params", "MMACs", "train s", "float mIoU"]
    head += [f"{b}-bit before FT" for b in args.bits]
    for b in args.finetune_bits:
        head += [f"{b}-bit after FT", f"float after {b}-bit FT", f"FT s ({b}-bit)"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in results:
        row = [f"`{r.name}`", f"{r.params:,}", f"{r.macs / 1e6:.1f}", f"{r.train_s:.0f}"]
        row.append(f"{r.miou_float:.3f}")
        row += [fmt(r.before[b]) for b in args.bits]
        for b in args.finetune_bits:
            row += [fmt(r.after[b]), f"{r.after_float[b]:.3f}", f"{r.finetune_s[b]:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="+", choices=list(DESIGNS), default=list(DESIGNS))
    parser.add_argument("--data-root", default=None, help="folder of camvid_96x128.npz")
    parser.add_argument(
        "--subset",
        type=int,
        nargs=2,
        default=None,
        metavar=("TRAIN", "VAL"),
        help="smoke test only: a seeded random subset of this many train and val frames",
    )
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument(
        "--scale",
        type=float,
        nargs=2,
        default=(0.75, 1.5),
        metavar=("MIN", "MAX"),
        help="augmentation zoom range (Augmentation.scale)",
    )
    parser.add_argument(
        "--logit-adjust",
        type=float,
        default=0.0,
        metavar="TAU",
        help="train with logits + TAU*log(class prior) (0: plain cross-entropy)",
    )
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--finetune-lr", type=float, default=2e-3)
    parser.add_argument("--bits", type=int, nargs="+", default=[6, 4], help="DAC = ADC bits")
    parser.add_argument("--finetune-bits", type=int, nargs="*", default=[6])
    parser.add_argument("--adc-gain", type=float, default=4.0)
    parser.add_argument("--chips", type=int, default=3, help="simulated chips per score")
    parser.add_argument("--gain-sweep", choices=list(DESIGNS), default=None)
    parser.add_argument("--gains", type=float, nargs="+", default=list(GAINS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path("runs/camvid_accuracy"))
    parser.add_argument("--retrain", action="store_true", help="ignore cached float weights")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    if not set(args.finetune_bits) <= set(args.bits):
        parser.error("every --finetune-bits value must also be in --bits")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    train_count, val_count = args.subset or (None, None)
    data = load_dataset(
        "camvid",
        data_root=args.data_root,
        image_size=(96, 128),
        seed=args.seed,
        num_train=train_count,
        num_val=val_count,
    )
    recipe = Recipe(
        args.epochs,
        args.lr,
        args.batch_size,
        tuple(args.scale),
        args.weight_decay,
        args.seed,
        args.logit_adjust,
    )
    results = [measure(name, DESIGNS[name], data, recipe, args) for name in args.designs]
    sweep = gain_sweep(args.gain_sweep, data, recipe, args) if args.gain_sweep else []
    report = [
        "## CamVid 96x128: validation mIoU in float32 and under photonic noise",
        "",
        f"command: `{shlex.join(['.venv/bin/python', *sys.argv])}`  ",
        f"machine: {machine()}  ",
        f"date: {datetime.date.today().isoformat()}, total wall time"
        f" {(time.perf_counter() - start) / 60:.1f} min",
        "",
        f"Float recipe: AdamW one-cycle, {recipe.epochs} epochs, lr {recipe.lr:g}, batch"
        f" {recipe.batch_size}, weight decay {recipe.weight_decay:g}, augmentation flips, zoom"
        f" {recipe.scale[0]:g}-{recipe.scale[1]:g}, colour jitter 0.2;"
        f" {logit_text(recipe.logit_adjust)}; seed {recipe.seed}."
        f" Noise: default `NoiseConfig` sigmas on the default preset (12x12 array, 12"
        f" wavelengths), DAC = ADC bits as named, `adc_gain` {args.adc_gain:g}; mean ± std over"
        f" {args.chips} evaluation chips. Noise-aware fine-tuning (FT): `finetune_noise_aware`,"
        f" {args.finetune_epochs} epochs, lr {args.finetune_lr:g}, at the bits named. Train on"
        " the train split (367 frames), score on val (101 frames); train and FT times are"
        " wall seconds on one torch thread.",
        "",
        *table(results, args),
    ]
    for name in args.designs:
        report.append(f"\n`{name}`: `{json.dumps(DESIGNS[name])}`")
    if sweep:
        report += [
            "",
            f"ADC gain sweep, `{args.gain_sweep}` (float network, before fine-tuning,"
            f" {args.chips} chips):",
            "",
            *sweep,
        ]
    text = "\n".join(report) + "\n"
    publish(text, args.out)


if __name__ == "__main__":
    main()
