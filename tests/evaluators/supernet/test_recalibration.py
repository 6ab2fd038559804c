"""evaluators.supernet.recalibration: BN statistics from the given images."""

from __future__ import annotations

import pytest
import torch

from evaluators.data import load_dataset, to_model_input
from evaluators.network import build_network
from evaluators.supernet import recalibrate_bn, recalibration_images
from tests.support.supernet import DESIGN

pytestmark = pytest.mark.usefixtures("one_thread")


def test_recalibration_replaces_statistics_with_those_of_the_images() -> None:
    data = load_dataset("synthetic", image_size=(32, 32), num_train=32, num_val=8)
    network = build_network(DESIGN, data.num_classes, seed=0)
    images = recalibration_images(data, 16)
    assert images.shape[0] == 16
    recalibrate_bn(network, images)
    stem_bn = network.stem[1]
    assert not network.training and stem_bn.momentum == 0.1
    features = network.stem[0]((to_model_input(images) - network.mean) / network.std)
    torch.testing.assert_close(stem_bn.running_mean, features.mean((0, 2, 3)), rtol=1e-4, atol=1e-5)
