"""evaluators.noise.native: the fused eval-mode tile against the PyTorch tile it replaces."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from evaluators.noise import NoiseConfig, native, photonic_mode
from evaluators.noise import layers as photonic_layers


@pytest.fixture
def kernel_switch(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lets a test turn the kernel on and off (``PHOTONIC_DSE_NATIVE``); rebuilt state after."""
    native.tile_kernel.cache_clear()
    yield
    monkeypatch.undo()
    native.tile_kernel.cache_clear()


def _run(layer: nn.Module, x: torch.Tensor, config: NoiseConfig) -> torch.Tensor:
    with torch.no_grad(), photonic_mode(layer, config, chip_seed=3, noise_seed=5):
        return layer(x)


LAYERS = {
    "standard, several blocks": (nn.Conv2d(16, 24, 3, padding=1), (2, 16, 12, 20)),
    "standard, 24 blocks": (nn.Conv2d(32, 8, 3, padding=1), (2, 32, 7, 9)),
    "depthwise, strided": (nn.Conv2d(24, 24, 5, padding=2, groups=24, stride=2), (3, 24, 13, 17)),
    "pointwise": (nn.Conv2d(24, 8, 1), (2, 24, 9, 9)),
    "grouped, dilated, reflected": (
        nn.Conv2d(12, 12, 3, padding=2, dilation=2, groups=3, padding_mode="reflect"),
        (2, 12, 10, 11),
    ),
    "tiles across images (3x5 outputs)": (nn.Conv2d(8, 8, 3, padding=1), (3, 8, 3, 5)),
    "linear": (nn.Linear(40, 7), (5, 3, 40)),
    "transposed": (nn.ConvTranspose2d(16, 8, 2, stride=2), (2, 16, 6, 7)),
}


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bits", [2, 6])
def test_the_kernel_computes_what_the_pytorch_tile_does(
    name: str, signed: bool, bits: int, kernel_switch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every noise source on (static input offsets too), the same chip and noise seeds: the two
    tiles draw the same noise in the same order and round alike except in the products' sums and
    the sum over blocks, which moves an output in the last place, and by an ADC step where a sum
    lands on a rounding boundary."""
    if native.tile_kernel() is None:
        pytest.skip("no working C compiler here: the PyTorch tile runs (see the warning)")
    torch.manual_seed(0)
    layer, shape = LAYERS[name]
    layer.eval()
    x = torch.randn(shape) if signed else torch.rand(shape)
    config = NoiseConfig(
        input_bits=bits, weight_bits=bits, adc_bits=bits + 1, wavelengths=6,
        temporal_accumulation=2, sigma_in_static=0.05,
    )  # fmt: skip
    calls = []
    run_kernel = native.TileKernel.run
    monkeypatch.setattr(
        native.TileKernel, "run", lambda self, **f: calls.append(1) or run_kernel(self, **f)
    )
    fused = _run(layer, x, config)
    assert calls, "the kernel did not run"
    monkeypatch.setenv("PHOTONIC_DSE_NATIVE", "0")
    native.tile_kernel.cache_clear()
    reference = _run(layer, x, config)
    assert fused.shape == reference.shape
    differs = ~torch.isclose(fused, reference, rtol=1e-5, atol=1e-5 * reference.abs().max())
    assert differs.float().mean() <= 1e-3, f"{int(differs.sum())} of {differs.numel()} differ"


def test_training_and_exact_input_noise_keep_the_pytorch_tile(
    kernel_switch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    monkeypatch.setattr(native.TileKernel, "run", lambda self, **f: calls.append(1))
    layer, x = nn.Conv2d(4, 6, 3, padding=1), torch.rand(2, 4, 6, 6, requires_grad=True)
    with photonic_mode(layer, NoiseConfig(), chip_seed=1):
        layer(x).sum().backward()  # a gradient is wanted
    with torch.no_grad(), photonic_mode(layer.eval(), NoiseConfig(input_noise="exact")):
        layer(x)  # dynamic input noise drawn per element
    assert not calls


def test_without_a_compiler_the_pytorch_tile_runs_after_one_warning(
    kernel_switch: None, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setenv("PHOTONIC_DSE_NATIVE_CACHE", str(tmp_path))
    with pytest.warns(RuntimeWarning, match="native photonic tile unavailable"):
        assert native.tile_kernel() is None
    layer = nn.Conv2d(4, 6, 3, padding=1).eval()
    out = _run(layer, torch.rand(1, 4, 5, 5), NoiseConfig())
    assert out.shape == (1, 6, 5, 5) and torch.isfinite(out).all()
    assert photonic_layers.tile_kernel() is None  # cached: one warning, not one per call
