"""What ``dse export`` writes for a photonic design (docs/architecture.md, "Export layout").

- ``model.pt``: TorchScript, float32 ``N x 3 x H x W`` RGB in [0, 1] in (normalisation is inside
  the model), logits ``N x C x H x W`` out; loads with plain ``torch.jit.load``.
- ``model.onnx``: the same network, when torch's ONNX exporter can produce it here.
- ``hardware.csv``: one row per layer: MACs, mapping onto the array, cycles, latency, energy by
  component.
- ``energy.png``: where the energy goes, photonic components against the digital reference.
- ``report.md``: the design, its accuracy and hardware metrics, and the comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from evaluators.design import Design
from evaluators.hardware import HardwareReport
from evaluators.scoring import Score

COMPONENT_LABELS = {
    "laser": "lasers",
    "dac": "DACs",
    "modulator": "modulators",
    "adc": "ADCs",
    "detector": "PD/TIA",
    "tuning": "tuning and hold",
    "memory": "memory",
    "digital": "digital ops",
}


def export_design(
    out_dir: Path,
    network: nn.Module,
    design: Design,
    score: Score,
    input_shape: tuple[int, int, int, int],
    options: Mapping[str, Any],
) -> None:
    """Write every export artefact of one trained, scored design into ``out_dir``; ``options``
    (the evaluator's, as plain data) go into the report."""
    if score.accuracy is None:
        raise ValueError("export needs a design scored with its accuracy, not hardware only")
    out_dir.mkdir(parents=True, exist_ok=True)
    network = network.cpu().eval()
    example = torch.rand(input_shape)
    save_torchscript(network, example, out_dir / "model.pt")
    onnx_note = save_onnx(network, example, out_dir / "model.onnx")
    score.photonic.to_csv(out_dir / "hardware.csv")
    plot_energy(score.photonic, score.digital, out_dir / "energy.png")
    text = render_report(design.params, score, options, onnx_note)
    (out_dir / "report.md").write_text(text)


def save_torchscript(network: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Script the model (any input size a multiple of the network's stride); trace if that fails."""
    try:
        module = torch.jit.script(network)
    except Exception:
        module = torch.jit.trace(network, example)
    module.save(str(path))


def save_onnx(network: nn.Module, example: torch.Tensor, path: Path) -> str:
    """Export ONNX if torch's exporter works in this environment; say why not otherwise."""
    try:
        torch.onnx.export(
            network,
            (example,),
            str(path),
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )
    except Exception as error:
        path.unlink(missing_ok=True)
        return f"not written: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return "written"


def plot_energy(report: HardwareReport, digital: Mapping[str, float], path: Path) -> None:
    """Energy per inference by component, photonic design beside the digital reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = report.metrics()
    labels = list(COMPONENT_LABELS.values())
    values = [metrics[f"energy_{name}_uj"] for name in COMPONENT_LABELS]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=[3, 1])
    left.barh(labels, values, color="tab:blue")
    left.invert_yaxis()
    left.set_xlabel("energy per inference (µJ)")
    left.set_title(f"photonic: {metrics['energy_uj']:.3g} µJ")
    right.bar(
        ["photonic", "digital"],
        [metrics["energy_uj"], digital["energy_uj"]],
        color=["tab:blue", "tab:gray"],
    )
    right.set_ylabel("µJ per inference")
    right.set_title("total")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def render_report(
    params: Mapping[str, Any], score: Score, options: Mapping[str, Any], onnx_note: str
) -> str:
    """The human summary of an exported design, as markdown."""
    metrics, digital = score.metrics(), score.digital
    rows = [
        (
            "mIoU under noise (mean ± std over chips)",
            f"{metrics['miou']:.4f} ± {metrics['miou_std']:.4f}",
        ),
        ("mIoU float32, no noise", f"{metrics['miou_clean']:.4f}"),
        ("throughput", f"{metrics['throughput_fps']:.4g} inferences/s"),
        ("latency", f"{metrics['latency_ms']:.4g} ms"),
        ("energy per inference", f"{metrics['energy_uj']:.4g} µJ"),
        ("average power", f"{metrics['power_w']:.4g} W"),
        ("area", f"{metrics['area_mm2']:.4g} mm²"),
        ("MACs / params", f"{metrics['macs']:.4g} / {metrics['params']:.4g}"),
        ("array utilization", f"{metrics['utilization']:.1%}"),
    ]
    speed = metrics["throughput_fps"] / digital["throughput_fps"]
    saving = digital["energy_uj"] / metrics["energy_uj"]
    lines = [
        "# Exported design",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "## Against the digital reference",
        "",
        f"The digital reference runs the same network at {digital['throughput_fps']:.4g} "
        f"inferences/s for {digital['energy_uj']:.4g} µJ each: this photonic design is "
        f"{speed:.3g}x its throughput at {1 / saving:.3g}x its energy per inference.",
        "",
        "![energy by component](energy.png)",
        "",
        "## Weights",
        "",
        _weights_note(options),
        "",
        "## Design",
        "",
        "```yaml",
        yaml.safe_dump(dict(params), sort_keys=True).rstrip(),
        "```",
        "",
        "## Files",
        "",
        "- `model.pt`: TorchScript; float32 N x 3 x H x W RGB in [0, 1] in, logits out.",
        f"- `model.onnx`: {onnx_note}.",
        "- `hardware.csv`: per-layer mapping, cycles, latency and energy by component.",
        "",
        "## Evaluator options",
        "",
        "```yaml",
        yaml.safe_dump(dict(options), sort_keys=True).rstrip(),
        "```",
    ]
    return "\n".join(lines) + "\n"


WEIGHT_SOURCES = {
    "supernet": "Inherited from the weight-sharing supernet (fidelity `supernet`): the design's"
    " slice of the shared weights, batch norm recalibrated, never trained alone. For weights"
    " trained alone, `dse verify` the design first (its export then carries verify's weights)"
    " or export with `--retrain`.",
    "finetune": "The design's supernet slice, then trained alone: {tune_epochs} float epochs and"
    " {finetune_epochs} noise-aware on its own chip (fidelity `finetune`).",
    "standalone": "Trained alone from scratch: {epochs} float epochs, then {finetune_epochs}"
    " noise-aware on its own chip (fidelity `standalone`, seed {seed}). A verified design is"
    " exported with `dse verify`'s recipe, its weights read from verify's cache when there.",
}
"""Where each fidelity's weights come from, in the report's words (``evaluators/fidelities/``)."""


def _weights_note(options: Mapping[str, Any]) -> str:
    """Where the exported weights come from: the fidelity that gave them, or a retraining."""
    fidelity = str(options.get("fidelity"))
    if options.get("retrain"):
        return (
            f"Retrained standalone for this export ({options.get('epochs')} float epochs, then"
            f" {options.get('finetune_epochs')} noise-aware), not from `{fidelity}`."
        )
    note = WEIGHT_SOURCES.get(fidelity, "From fidelity `{fidelity}` (`evaluators/fidelities/`).")
    note = note.format_map({**options, "fidelity": fidelity})
    if fidelity == "supernet" and options.get("average_float_supernet"):
        note += (
            " The search averaged this slice's score with that of the float supernet's slice"
            " (`average_float_supernet`); this report scores the exported slice alone."
        )
    return note
