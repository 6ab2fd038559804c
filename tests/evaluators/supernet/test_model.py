"""evaluators.supernet.model: selected designs, their training steps and noise."""

from __future__ import annotations

import pytest
import torch

from evaluators.noise import NoiseConfig
from evaluators.supernet import Supernet, SupernetSpace
from tests.support.supernet import DESIGN, DOMAINS, designs

pytestmark = pytest.mark.usefixtures("one_thread")


def test_designs_selected_together_share_the_batch() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0).eval()
    first, second = designs(2, seed=3)
    images = torch.rand(4, 3, 32, 32)
    supernet.select(first, second)
    expected = [supernet.network(first)(images[:2]), supernet.network(second)(images[2:])]
    torch.testing.assert_close(supernet(images), torch.cat(expected))


def test_a_training_step_updates_only_the_design_slice() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0)
    supernet.train().select(DESIGN)
    supernet(torch.rand(2, 3, 32, 32)).square().mean().backward()
    grad = supernet.store.get("stem.0.weight").grad
    assert grad is not None and grad[:8].abs().sum() > 0
    assert grad[8:].abs().sum() == 0
    untouched = supernet.store.get("stages.2.standard.1.block.body.0.0.weight")
    assert untouched.grad is None  # stage 3 is a ghost stage in DESIGN


def test_noise_is_attached_for_a_step_and_removed_after() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0).eval()
    images = torch.rand(2, 3, 32, 32)
    supernet.select(DESIGN)
    clean = supernet(images)
    noise = NoiseConfig(input_bits=2, weight_bits=2)
    supernet.select(DESIGN, noise=noise, chip_seed=1, noise_seed=1)
    assert not torch.allclose(supernet(images), clean, atol=1e-3)
    supernet.select()
    supernet.select(DESIGN)
    torch.testing.assert_close(supernet(images), clean)
