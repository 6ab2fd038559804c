"""evaluators.zoo: every published network builds, trains, runs on the photonic model, is costed
and exports; a design names one (or a user's factory) with ``arch.model``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from evaluators.design import Design
from evaluators.export import save_torchscript
from evaluators.hardware import extract_layers
from evaluators.network import NetworkConfigError
from evaluators.noise import NoiseConfig, PhotonicLayer, photonic_mode
from evaluators.segmentation_options import SegmentationOptions
from evaluators.zoo import MODELS, build_model
from tests.support.cli import run_dse

GEMMS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def tiny_segmenter(num_classes: int) -> nn.Module:
    """A user's own network, as a factory the README's contract describes."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.ConvTranspose2d(8, num_classes, 2, stride=2),
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_zoo_network_trains_is_costed_runs_noisy_and_exports(
    name: str, tmp_path: Path
) -> None:
    network = build_model(name, 5, seed=0)
    x = torch.rand(2, 3, 32, 32)
    out = network(x)
    assert out.shape == (2, 5, 32, 32)
    out.logsumexp(1).mean().backward()
    assert all(p.grad is not None for p in network.parameters() if p.requires_grad)

    network.eval()
    layers = extract_layers(network, (1, 3, 32, 32))
    gemms = [m for m in network.modules() if isinstance(m, GEMMS)]
    assert sum(layer.macs > 0 for layer in layers) == len(gemms)  # every GEMM is costed, once

    with torch.no_grad(), photonic_mode(network, NoiseConfig()):
        assert all(isinstance(m, PhotonicLayer) for m in network.modules() if type(m) in GEMMS)
        noisy = network(x)
    with torch.no_grad():
        clean = network(x)
    assert torch.isfinite(noisy).all() and not torch.equal(noisy, clean)

    save_torchscript(network, x, tmp_path / "model.pt")
    loaded = torch.jit.load(str(tmp_path / "model.pt"))
    assert torch.allclose(loaded(x), clean, atol=1e-5)


def test_a_zoo_design_ignores_the_family_params_and_builds_repeatably() -> None:
    options = SegmentationOptions(dataset="synthetic")
    one = Design.resolve({"arch.model": "enet", "arch.width": 8, "hw.bits": 6}, options)
    two = Design.resolve({"arch.model": "enet", "arch.width": 32, "hw.bits": 6}, options)
    assert one.params == two.params == {"arch.model": "enet", "hw.bits": 6}
    first, second = one.build(4, seed=3).state_dict(), two.build(4, seed=3).state_dict()
    assert all(torch.equal(first[name], second[name]) for name in first)


@pytest.mark.parametrize(
    ("model", "fragment"),
    [("enett", "arch.model='enett': one of family, bisenet, enet"), ("os", "or module:factory")],
)
def test_an_unknown_model_fails_in_one_line(model: str, fragment: str) -> None:
    with pytest.raises(NetworkConfigError, match=r"arch\.model") as error:
        Design.resolve({"arch.model": model}, SegmentationOptions(dataset="synthetic"))
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_an_input_size_off_the_stride_fails_in_one_line() -> None:
    with pytest.raises(NetworkConfigError, match="downsampling factor 32"):
        build_model("fast_scnn", 3)(torch.rand(1, 3, 48, 48))


def test_a_user_factory_is_evaluated_end_to_end_by_dse_evaluate(tmp_path: Path) -> None:
    target = f"{__name__}:tiny_segmenter"
    options = {
        "dataset": "synthetic", "image_size": [32, 32], "num_train": 16, "num_val": 8,
        "fidelity": "standalone", "epochs": 1, "finetune_epochs": 1, "noise_samples": 1,
    }  # fmt: skip
    design = {
        "evaluator": {
            "target": "evaluators.photonic_segmentation:PhotonicSegmentationEvaluator",
            "options": options,
        },
        "params": {"arch.model": target, "hw.bits": 6, "hw.adc_bits": 6},
    }
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(design))
    refused = run_dse(tmp_path, "evaluate", str(path), check=False)
    assert refused.returncode != 0 and f"{target!r} is not allowed" in refused.stderr
    result = run_dse(tmp_path, "evaluate", str(path), "--json", "--allow-target", target)
    metrics = json.loads(result.stdout)
    assert 0.0 <= metrics["miou"] <= 1.0 and metrics["macs"] > 0 and metrics["energy_uj"] > 0
    weights = list((tmp_path / "runs" / "cache" / "weights").glob("*.pt"))
    assert weights, "the user's network's trained weights are cached like the family's"
