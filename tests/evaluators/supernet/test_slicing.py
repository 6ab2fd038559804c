"""evaluators.supernet.slicing: an inherited design is its build with sliced weights."""

from __future__ import annotations

import pytest
import torch

from evaluators.network import build_network
from evaluators.supernet import Supernet, SupernetSpace
from tests.support.supernet import DESIGN, DOMAINS, designs, random_statistics

pytestmark = pytest.mark.usefixtures("one_thread")


def test_inherited_design_equals_standalone_build_with_sliced_weights() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0)
    random_statistics(supernet)
    supernet.eval()
    images = torch.rand(2, 3, 32, 32)
    for params in [DESIGN, *designs(5)]:
        standalone = build_network(params, 5, seed=123)
        sliced = {k: v.detach().clone() for k, v in supernet.weights(params).items()}
        standalone.load_state_dict(sliced)
        expected = standalone.eval()(images)
        torch.testing.assert_close(supernet.network(params)(images), expected, rtol=0, atol=0)
        supernet.select(params)  # the training path: views through functional_call
        torch.testing.assert_close(supernet(images), expected)


def test_slices_are_leading_channels_kernel_centres_and_decoder_parts() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0)
    weights = supernet.weights(DESIGN)  # width 8 of 16, 3x3 of 5x5
    stem = supernet.store.get("stem.0.weight")
    assert torch.equal(weights["stem.0.weight"], stem[:8])
    conv = supernet.store.get("stages.1.depthwise.0.body.1.0.weight")  # expansion 1: no expand
    assert torch.equal(weights["stages.1.0.body.0.0.weight"], conv[:8, :, 1:4, 1:4])
    fuse = supernet.store.get("decoder.0.fuse.0.weight")  # input: 64 upsampled + 32 skip
    expected = torch.cat([fuse[:16, :32], fuse[:16, 64:80]], dim=1)
    assert torch.equal(weights["decoder.0.fuse.0.weight"], expected)
