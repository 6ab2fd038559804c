"""``fidelity: standalone``: every design trained from scratch, then optionally noise-aware.

The design is trained in float for ``epochs`` (:func:`evaluators.training.train`), then
fine-tuned for ``finetune_epochs`` through the noise model of its own hardware
(:func:`evaluators.accuracy.finetune_noise_aware`). The weights are cached under
``<cache_dir>/weights/<key>.pt``, keyed by the design and everything training reads, so
``dse export`` and a later search find them instead of training again; option ``retrain``
ignores the cache (and refreshes it).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

from torch import nn

from evaluators.data import SegmentationData
from evaluators.design import Design
from evaluators.fidelities.base import Cost, Fidelity, register_fidelity
from evaluators.fidelities.training import WeightCache, train_in_two_phases
from evaluators.keys import content_key
from evaluators.segmentation_options import SegmentationOptions

HW = "hw."

WEIGHTS_FORMAT = 1  # bump when training changes so stale cached weights are not reused
FLOAT_FORMAT = 2
"""Float-only keys: 2, without the design's hardware (e4efe8a's keys held it: one float training
per hardware variant of a network)."""
NOISE_AWARE_FORMAT = 2
"""Bump when noise-aware fine-tuning changes (keys of float-only weights stay): 2, its gradient
norm clipped, non-finite steps skipped (:func:`evaluators.accuracy.finetune_noise_aware`)."""
HARDWARE_OPTIONS = ("noise", "hardware")
"""What only the noise-aware phase reads: float weights are filed without it (and without the
design's ``hw.*`` params), so every hardware variant of a network shares one float training."""
KEYED_OPTIONS = (  # everything training reads, besides the design itself
    "dataset",
    "data_root",
    "image_size",
    "num_train",
    "num_val",
    "epochs",
    "batch_size",
    "lr",
    "finetune_epochs",
    "finetune_lr",
    "noise",
    "hardware",
    "seed",
)


@register_fidelity("standalone")
class Standalone(Fidelity):
    """Train each design alone (or load its cached weights)."""

    def __init__(self, options: SegmentationOptions) -> None:
        super().__init__(options)
        self.weights = WeightCache(options.cache_dir)

    def network(self, design: Design, data: SegmentationData) -> nn.Module:
        """The design's trained network. The float phase's weights are filed on their own too
        (under the key the same options without fine-tuning give), so another noise-aware
        recipe, or a float-only search, starts from them instead of training again."""
        options = self.options
        network = design.build(data.num_classes, options.seed)
        key = self.key(design)
        if not options.retrain and self.weights.load(key, network):
            return network
        float_only = without_noise_phase(options)
        float_key = self.key(design, float_only) if options.finetune_epochs else key
        if options.retrain or not self.weights.load(float_key, network):
            train_in_two_phases(
                network, design, data, float_only, epochs=options.epochs, lr=options.lr,
                checkpoints=partial(self.weights.checkpoint, float_key),
            )  # fmt: skip
            self.weights.save(float_key, network)
        if options.finetune_epochs:  # the noise-aware phase alone, from the float weights
            train_in_two_phases(
                network, design, data, options, epochs=0, lr=options.lr,
                checkpoints=partial(self.weights.checkpoint, key),
            )  # fmt: skip
            self.weights.save(key, network)
        return network

    def key(self, design: Design, options: SegmentationOptions | None = None) -> str:
        options = options or self.options
        relevant = {name: getattr(options, name) for name in KEYED_OPTIONS}
        identity = design.identity
        if options.finetune_epochs:  # noise-aware weights of an older training are not reused
            relevant["noise_aware_format"] = NOISE_AWARE_FORMAT
        else:  # float training never meets the hardware
            relevant = {k: v for k, v in relevant.items() if k not in HARDWARE_OPTIONS}
            identity = {k: v for k, v in identity.items() if not k.startswith(HW)}
            relevant["float_format"] = FLOAT_FORMAT
        return content_key([WEIGHTS_FORMAT, identity, relevant])

    def cost(self, train_images: int) -> Cost:
        options = self.options
        return Cost(
            float_per_design=options.epochs * train_images,
            noisy_per_design=options.finetune_epochs * train_images,
        )


NOISE_PHASE_OPTIONS = ("finetune_epochs", "finetune_lr")


def without_noise_phase(options: SegmentationOptions) -> SegmentationOptions:
    """``options`` with the noise-aware phase's knobs at their defaults (no fine-tuning): the
    float phase's weights are filed under their key, whatever the noise-aware recipe."""
    defaults: dict[str, Any] = {
        f.name: f.default for f in dataclasses.fields(options) if f.name in NOISE_PHASE_OPTIONS
    }
    return dataclasses.replace(options, **defaults)
