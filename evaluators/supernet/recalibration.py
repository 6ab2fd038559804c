"""Batch-norm recalibration of a network whose weights came from a supernet.

A supernet's running statistics mix every design it trained, while each design's activations
have their own mean and variance (a narrow network's channels see different sums than a wide
one's). Single-path one-shot and BigNAS therefore re-estimate them per design before scoring: a
few hundred training images through the network in train mode, no gradients, with a cumulative
average (``momentum=None``) so every image counts equally.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from evaluators.data import SegmentationData, to_model_input


def recalibration_images(data: SegmentationData, count: int) -> Tensor:
    """``count`` training images spread evenly over the split: video datasets (CamVid) store
    whole sequences one after another, so the first frames would all be one street."""
    total = data.train_images.shape[0]
    index = torch.linspace(0, total - 1, min(count, total)).round().long()
    return data.train_images[index]


@torch.no_grad()
def recalibrate_bn(network: nn.Module, images: Tensor, batch_size: int = 32) -> None:
    """Replace the running statistics of every BatchNorm with those of ``images`` (uint8
    ``N x H x W x 3`` or float ``N x 3 x H x W``); the network is left in eval mode."""
    norms = [m for m in network.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    network.train()
    try:
        for start in range(0, images.shape[0], batch_size):
            network(to_model_input(images[start : start + batch_size]))
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        network.eval()
