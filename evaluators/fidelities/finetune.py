"""``fidelity: finetune``: a design's supernet slice, trained alone for a few epochs.

The design starts from what the ``supernet`` fidelity gives it (its slice of the shared weights,
batch norm recalibrated), then trains alone: ``tune_epochs`` in float at ``tune_lr``, then
``finetune_epochs`` noise-aware on its own chip at ``finetune_lr``, on ``tune_images`` training
frames (a seeded subset; all of them by default). A short schedule from a good start instead of
a long one from scratch: meant for the designs a multi-fidelity search promotes. The weights are
cached by a content key that covers the supernet, the design and the recipe.
"""

from __future__ import annotations

from functools import partial

from torch import nn

from evaluators.data import SegmentationData
from evaluators.design import Design
from evaluators.fidelities.base import Cost, Fidelity, WeightSample, register_fidelity
from evaluators.fidelities.supernet import Inherited
from evaluators.fidelities.training import WeightCache, train_in_two_phases
from evaluators.keys import content_key
from evaluators.segmentation_options import SegmentationOptions

KEYED_OPTIONS = (  # what the training from the inherited weights reads
    "tune_epochs",
    "tune_lr",
    "tune_images",
    "batch_size",
    "finetune_epochs",
    "finetune_lr",
    "noise",
    "hardware",
    "seed",
)
WEIGHTS_FORMAT = 2  # 2: gradient norm clipped in the noise-aware phase (finetune_noise_aware)


@register_fidelity("finetune")
class FineTuned(Inherited):
    """Inherited weights, then a short training of the design alone (or its cached result)."""

    def __init__(self, options: SegmentationOptions) -> None:
        super().__init__(options)
        self.weights = WeightCache(options.cache_dir)

    def network(self, design: Design, data: SegmentationData) -> nn.Module:
        options, key = self.options, self.key(design)
        cached = design.build(data.num_classes, options.seed)
        if not options.retrain and self.weights.load(key, cached):
            return cached
        network = super().network(design, data)
        train_in_two_phases(
            network,
            design,
            data,
            options,
            epochs=options.tune_epochs,
            lr=options.tune_lr,
            images=options.tune_images,
            checkpoints=partial(self.weights.checkpoint, key),
        )
        self.weights.save(key, network)
        return network

    def samples(self, design: Design, data: SegmentationData) -> list[WeightSample]:
        """Its own trained network alone (the supernet's float slice is not trained further)."""
        return Fidelity.samples(self, design, data)

    def key(self, design: Design) -> str:
        relevant = {name: getattr(self.options, name) for name in KEYED_OPTIONS}
        return content_key([WEIGHTS_FORMAT, "finetune", super().key(design), relevant])

    def cost(self, train_images: int) -> Cost:
        inherited = super().cost(train_images)
        images = min(self.options.tune_images or train_images, train_images)
        return Cost(
            float_once=inherited.float_once,
            noisy_once=inherited.noisy_once,
            float_per_design=inherited.float_per_design + self.options.tune_epochs * images,
            noisy_per_design=self.options.finetune_epochs * images,
        )
