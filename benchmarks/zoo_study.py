"""Which segmentation networks suit a photonic accelerator: the zoo beside the searched family.

Every network (the published ones of ``evaluators.zoo``, and family designs: the best ``--top``
of ``--front``, a ``dse front --format json`` file, else of the CamVid reference table) is trained
once in float with one recipe (``RECIPE``, the CamVid reference's; ``--option`` overrides), then,
on one accelerator per precision (``--bits``: DAC and ADC bits both; the rest of the hardware the
evaluator's defaults, so every network meets the same chip), it is scored on the validation split:

- ``miou_noisy``: its float weights under the chip's noise (``noise_samples`` chips: mean and
  spread), ``miou_tuned``: after ``finetune_epochs`` noise-aware on that chip, ``miou_clean``;
- its cost there (throughput, energy, array utilization) and on the digital reference;
- properties that may explain its loss under noise: the MAC-weighted reduction length per output
  (D, the products each output sums before the digital accumulation), the depthwise share of MACs,
  GEMM layers, residual adds per GEMM layer, the crest factor (max / RMS) of the GEMM inputs on a
  few validation frames (block floating point scales each block by its largest value), and the
  MAC share of GEMMs whose inputs go negative (signed input DACs have half the levels of the
  unsigned ones a ReLU's output gets: ``evaluators.noise.layers.signed_input``), and the
  conversion fill: the MAC-weighted share of a conversion's n = N_λ·T slots that hold a product
  (the ADC's range is set for n; the issue's "fan-in per conversion"). The structural ones (all
  but the crest factor and signed share) are read off the architecture, so rows made before one
  was added get it without training (``fill_structure``).

Rows go to ``--out`` (JSON) as they finish, so a run resumes; ``--report`` writes the table, the
Spearman correlations of each property with the loss under noise (bootstrap 90 % interval over the
networks) and a figure (loss against energy). Usage (from the repository root)::

    .venv/bin/python benchmarks/zoo_study.py --out benchmarks/reference/zoo_study.json \\
        --report runs/zoo/report.md --figure runs/zoo/drop_vs_energy.png
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from benchmark_support import code_commit, machine, publish
from camvid_reference import RECIPE, TABLE, space_options
from scipy import stats

from dse.design import parse_overrides
from evaluators.data import to_model_input
from evaluators.design import Design
from evaluators.hardware import LayerSpec, extract_layers
from evaluators.network import NetworkConfig
from evaluators.noise.layers import signed_input
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator
from evaluators.zoo import MODELS

COSTS = ("throughput_fps", "energy_uj", "utilization", "latency_ms", "macs", "params")
DIGITAL = ("digital_throughput_fps", "digital_energy_uj")
STRUCTURAL = ("reduction_d", "depthwise_share", "gemm_layers", "adds_per_gemm", "conversion_fill")
PROPERTIES = (*STRUCTURAL, "crest_factor", "signed_share")
CREST_FRAMES = 8


def networks(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Name -> arch params: every zoo network, then the family designs asked for."""
    chosen = {name: {"arch.model": name} for name in args.models}
    if args.front is not None:
        rows = json.loads(args.front.read_text())
        source = "front"
    else:
        rows = [{**r["params"], "miou": r["miou"]} for r in json.loads(TABLE.read_text())["rows"]]
        source = "reference"
    # one network per distinct architecture: a front holds one on several chips, and params a
    # block type ignores (the expansion of an all-standard design) leave it the same
    archs: dict[NetworkConfig, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda row: -row["miou"]):
        arch = {k: v for k, v in row.items() if k.startswith("arch.")}
        archs.setdefault(NetworkConfig.from_params(arch).canonical(), arch)
    for rank, arch in enumerate(list(archs.values())[: args.top]):
        chosen[f"family-{source}-{rank}"] = arch
    return chosen


def properties(evaluator: PhotonicSegmentationEvaluator, design: Design) -> dict[str, float]:
    """Network properties of the trained float network (see the module docstring)."""
    network = evaluator.fidelity.network(design, evaluator.data)
    layers = extract_layers(network, evaluator.options.input_shape)
    gemms = [layer for layer in layers if layer.macs > 0]
    crest, signed = input_statistics(network, evaluator.data.val_images[:CREST_FRAMES], gemms)
    structural = structure(layers, design.noise.fan_in)
    return {**structural, "crest_factor": crest, "signed_share": signed}


def structure(layers: Sequence[LayerSpec], slots: int) -> dict[str, float]:
    """The properties that the architecture alone sets, on a chip of ``slots`` products per
    conversion. ``conversion_fill``: the MAC-weighted share of a conversion's slots that hold a
    product, D / (ceil(D / n) n): the ADC's full scale is set for n products (n / G), so a
    conversion of fewer (a depthwise 3x3's 9 on the default chip's n) uses a fraction of its
    codes."""
    gemms = [layer for layer in layers if layer.macs > 0]
    macs = np.array([layer.macs for layer in gemms], dtype=float)
    reduction = np.array([layer.gemm_d for layer in gemms], dtype=float)
    depthwise = sum(layer.macs for layer in gemms if layer.op.startswith("dwconv"))
    fill = reduction / (np.ceil(reduction / slots) * slots)
    return {
        "reduction_d": float(np.average(reduction, weights=macs)),
        "depthwise_share": depthwise / macs.sum(),
        "gemm_layers": float(len(gemms)),
        "adds_per_gemm": sum(layer.op == "add" for layer in layers) / len(gemms),
        "conversion_fill": float(np.average(fill, weights=macs)),
    }


def fill_structure(rows: list[dict[str, Any]], options: dict[str, Any]) -> None:
    """Give rows made before a structural property was added its value, from the architecture
    with untrained weights (no training: the trained float network may not be cached)."""
    evaluator = PhotonicSegmentationEvaluator(**{**options, "finetune_epochs": 0})
    for row in rows:
        if all(name in row for name in STRUCTURAL):
            continue
        design = Design.resolve(row["design"], evaluator.options)
        network = design.build(evaluator.data.num_classes, seed=0)
        layers = extract_layers(network, evaluator.options.input_shape)
        row.update(structure(layers, design.noise.fan_in))


def input_statistics(
    network: torch.nn.Module, images: torch.Tensor, gemms: list[LayerSpec]
) -> tuple[float, float]:
    """On ``images``: the mean over GEMM calls of max |x| / RMS(x) of the layer's input, and the
    MAC share of the GEMM layers whose input goes negative in any call."""
    ratios: list[float] = []
    signed: set[str] = set()

    def recorder(name: str) -> Callable[[torch.nn.Module, tuple[torch.Tensor, ...]], None]:
        def record(_: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            x = inputs[0].detach().float()
            ratios.append(float(x.abs().max() / x.square().mean().sqrt().clamp_min(1e-12)))
            if signed_input(x):
                signed.add(name)

        return record

    modules = {layer.module for layer in gemms}
    hooks = [
        m.register_forward_pre_hook(recorder(n)) for n, m in network.named_modules() if n in modules
    ]
    with torch.no_grad():
        network(to_model_input(images))
    for hook in hooks:
        hook.remove()
    signed_macs = sum(layer.macs for layer in gemms if layer.module in signed)
    return float(np.mean(ratios)), signed_macs / sum(layer.macs for layer in gemms)


def measure(
    name: str, arch: Mapping[str, Any], bits: int, options: dict[str, Any]
) -> dict[str, Any]:
    """One network on the ``bits``-bit chip: scores before and after noise-aware tuning, costs."""
    params = {**arch, "hw.bits": bits, "hw.adc_bits": bits}
    start = time.perf_counter()
    before = PhotonicSegmentationEvaluator(**{**options, "finetune_epochs": 0})
    before.setup()
    noisy = before.evaluate(params)
    row: dict[str, Any] = {"network": name, "bits": bits, "design": params}
    row.update(miou_noisy=noisy["miou"], miou_noisy_std=noisy["miou_std"])
    row.update(miou_clean=noisy["miou_clean"], **{k: noisy[k] for k in (*COSTS, *DIGITAL)})
    row.update(properties(before, Design.resolve(params, before.options)))
    after = PhotonicSegmentationEvaluator(**options)
    tuned = after.evaluate(params)  # the float phase comes from the cache `before` filled
    row.update(miou_tuned=tuned["miou"], miou_tuned_std=tuned["miou_std"])
    row["seconds"] = time.perf_counter() - start
    return row


def refresh_properties(rows: list[dict[str, Any]], options: dict[str, Any]) -> None:
    """Measure the properties of every row again (a property added after the row was made)."""
    evaluator = PhotonicSegmentationEvaluator(**{**options, "finetune_epochs": 0})
    evaluator.setup()
    measured: dict[str, dict[str, float]] = {}  # a network's properties do not depend on its chip
    for row in rows:
        if row["network"] not in measured:
            design = Design.resolve(row["design"], evaluator.options)
            measured[row["network"]] = properties(evaluator, design)
        row.update(measured[row["network"]])


def spearman(x: Sequence[float], y: Sequence[float], resamples: int = 2000) -> str:
    """Spearman rho with a bootstrap 90 % interval over the networks."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 4:
        return f"n/a ({len(a)} networks)"
    rng = np.random.default_rng(0)
    draws = [stats.spearmanr(a[i], b[i]).statistic
             for i in (rng.integers(0, len(a), len(a)) for _ in range(resamples))]  # fmt: skip
    low, high = np.nanpercentile(draws, [5, 95])
    return f"{stats.spearmanr(a, b).statistic:.2f} [{low:.2f}, {high:.2f}]"


def render(rows: list[dict[str, Any]], command: str, recipe: Mapping[str, Any]) -> str:
    precisions = sorted({r["bits"] for r in rows})
    lines = [
        f"Command: `{command}`",
        f"Machine: {machine()}",
        f"Recipe: {json.dumps(recipe, sort_keys=True)}",
        "",
        "| network | bits | params | MACs | float mIoU | noisy mIoU (spread) | after tuning"
        " | throughput fps | energy uJ | utilization | digital fps | digital uJ |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["network"], r["bits"])):
        lines.append(
            f"| {r['network']} | {r['bits']} | {r['params']:.3g} | {r['macs']:.3g}"
            f" | {r['miou_clean']:.3f} | {r['miou_noisy']:.3f} ({r['miou_noisy_std']:.3f})"
            f" | {r['miou_tuned']:.3f} ({r['miou_tuned_std']:.3f}) | {r['throughput_fps']:.3g}"
            f" | {r['energy_uj']:.3g} | {r['utilization']:.2f}"
            f" | {r['digital_throughput_fps']:.3g} | {r['digital_energy_uj']:.3g} |"
        )
    lines += ["", "Properties of each float network (the same on every chip):", ""]
    lines += properties_table(rows)
    lines += [
        "",
        "Spearman rho [bootstrap 90 %] of each property with the loss under noise"
        " (float mIoU - noisy mIoU, before tuning), over the networks:",
        "",
        "| property | " + " | ".join(f"{b} bits" for b in precisions) + " |",
        "|---|" + "---|" * len(precisions),
    ]
    for name in PROPERTIES:
        cells = []
        for bits in precisions:
            at = [r for r in rows if r["bits"] == bits]
            cells.append(spearman([r[name] for r in at], [loss(r) for r in at]))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def properties_table(rows: list[dict[str, Any]]) -> list[str]:
    """One line per network: its :data:`PROPERTIES` (measured on its float network)."""
    lines = ["| network | " + " | ".join(PROPERTIES) + " |", "|---|" + "---|" * len(PROPERTIES)]
    first = {r["network"]: r for r in sorted(rows, key=lambda r: r["bits"])}
    for name, row in sorted(first.items()):
        lines.append(f"| {name} | " + " | ".join(f"{row[p]:.3g}" for p in PROPERTIES) + " |")
    return lines


def loss(row: Mapping[str, Any]) -> float:
    return float(row["miou_clean"] - row["miou_noisy"])


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Loss under noise against energy per inference, one marker per precision."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5.5))
    for bits, marker in zip(sorted({r["bits"] for r in rows}), "os^vD", strict=False):
        at = [r for r in rows if r["bits"] == bits]
        axes.scatter([r["energy_uj"] for r in at], [loss(r) for r in at], marker=marker,
                     label=f"{bits} bits")  # fmt: skip
        for r in at:
            axes.annotate(r["network"], (r["energy_uj"], loss(r)), fontsize=7)
    # log loss: the 6- and 8-bit rows (0.01-0.13) would otherwise pile up on one line
    axes.set(xscale="log", yscale="log", xlabel="energy per inference (uJ)",
             ylabel="float - noisy mIoU (log)")  # fmt: skip
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=sorted(MODELS))
    parser.add_argument("--front", type=Path, default=None, help="dse front --format json")
    parser.add_argument("--top", type=int, default=3, help="family designs, by miou")
    parser.add_argument("--bits", type=int, nargs="*", default=[4, 6, 8])
    parser.add_argument("--option", nargs="*", default=[], help="evaluator option key=value")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache-zoo"))
    parser.add_argument("--out", type=Path, default=Path("runs/zoo/zoo_study.json"))
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument(
        "--refresh-properties",
        action="store_true",
        help="recompute every row's properties (from the cached float network; trained if absent)",
    )
    args = parser.parse_args(argv)
    base, _ = space_options()
    recipe = {**base, **RECIPE, **parse_overrides(args.option)}
    options = {**recipe, "threads": 1, "cache_dir": str(args.cache)}
    rows: list[dict[str, Any]] = json.loads(args.out.read_text()) if args.out.exists() else []
    done = {(r["network"], r["bits"]) for r in rows}
    print(f"machine: {machine()}", file=sys.stderr)
    if args.refresh_properties:
        refresh_properties(rows, options)
    if args.refresh_properties or not all(name in r for r in rows for name in STRUCTURAL):
        fill_structure(rows, options)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    for name, arch in networks(args).items():
        for bits in args.bits:
            if (name, bits) in done:
                continue
            row = measure(name, arch, bits, options)
            rows.append({**row, "code_commit": code_commit(), "date": time.strftime("%Y-%m-%d")})
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(rows, indent=1) + "\n")
            print(f"{name} {bits} bits: {loss(row):.3f} lost in {row['seconds']:.0f} s",
                  file=sys.stderr)  # fmt: skip
    command = shlex.join([sys.executable, *(argv or sys.argv)])
    publish(render(rows, command, recipe), args.report)
    if args.figure is not None:
        plot(rows, args.figure)


if __name__ == "__main__":
    main()
