"""evaluators.noise.randomness: static errors from chip_seed, dynamic from noise_seed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import torch

from evaluators.noise import NoiseConfig, photonic_mode
from evaluators.noise.randomness import _MIN_POOL, _POOL_HEADROOM, ChipErrors, NoiseSource
from tests.support.noise import IDEAL, infer, small_net, zero_sum_linear

STATIC_ONLY = NoiseConfig(sigma_in=0.0, sigma_w=0.0, sigma_out=0.0, sigma_in_static=0.05)
DYNAMIC_ONLY = NoiseConfig(sigma_w_static=0.0)


def test_noise_reuse_keeps_the_statistics() -> None:
    config = replace(IDEAL, sigma_out=0.05, noise_reuse=64)
    layer = zero_sum_linear(12, 2)
    outs = [infer(layer, torch.ones(4096, 24), config, noise_seed=s) for s in range(2)]
    for out in outs:
        assert out.var().item() == pytest.approx(2 * 0.05**2 * 12, rel=0.06)
    assert not torch.equal(outs[0], outs[1])


def test_a_pool_outgrown_by_its_requests_is_extended_not_redrawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[int] = []
    randn = torch.randn

    def counted(count: int, **options: Any) -> torch.Tensor:
        drawn.append(count)
        return randn(count, **options)

    monkeypatch.setattr(torch, "randn", counted)
    source, like = NoiseSource(seed=0, reuse=16), torch.empty(0)
    requests = [_MIN_POOL // 2 + step * (_MIN_POOL // 8) for step in range(8)]  # growing
    windows = [source.normal((count,), like) for count in requests]
    assert sum(drawn) == _POOL_HEADROOM * requests[-1]  # the last pool, each normal drawn once
    for window in windows:
        assert abs(window.mean().item()) < 0.01 and window.std().item() == pytest.approx(1, 0.01)


def test_same_seeds_give_identical_outputs() -> None:
    model, x = small_net(), torch.randn(2, 3, 10, 10)
    first = infer(model, x, NoiseConfig(), chip_seed=3, noise_seed=4)
    assert torch.equal(first, infer(model, x, NoiseConfig(), chip_seed=3, noise_seed=4))


def test_chip_seed_changes_static_errors_only() -> None:
    model, x = small_net(), torch.randn(2, 3, 10, 10)
    chip_a = infer(model, x, STATIC_ONLY, chip_seed=0)
    assert not torch.equal(chip_a, infer(model, x, STATIC_ONLY, chip_seed=1))
    assert torch.equal(chip_a, infer(model, x, STATIC_ONLY, chip_seed=0, noise_seed=9))
    dynamic = infer(model, x, DYNAMIC_ONLY, chip_seed=0, noise_seed=5)
    assert torch.equal(dynamic, infer(model, x, DYNAMIC_ONLY, chip_seed=1, noise_seed=5))


def test_static_errors_repeat_and_dynamic_noise_is_redrawn_every_pass() -> None:
    model, x = small_net(), torch.randn(2, 3, 10, 10)
    for config, same in ((STATIC_ONLY, True), (DYNAMIC_ONLY, False)):
        with torch.no_grad(), photonic_mode(model, config):
            assert torch.equal(model(x), model(x)) is same


def test_static_offsets_are_indexed_by_physical_device() -> None:
    chip = ChipErrors(seed=0, rows=4, cols=5, wavelengths=3)
    weights = chip.for_weights(out_rows=10, fan_in=6)  # rows r and r+4 share an encoder
    assert torch.equal(weights[0], weights[4]) and torch.equal(weights[1], weights[9])
    assert torch.equal(weights[:, :3], weights[:, 3:])  # second accumulation cycle, same rings
    assert not torch.equal(weights[0], weights[1])
    inputs = chip.for_inputs(batch=2, pixels=7, fan_in=3)  # GEMM column p = b·7 + l
    assert torch.equal(inputs[0, :, 0], inputs[0, :, 5])
    assert torch.equal(inputs[0, :, 5], inputs[1, :, 3])  # columns 5 and 10 = 5 + 5
    assert torch.equal(inputs[0, :, 0], chip.input_offsets[0])
