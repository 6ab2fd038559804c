"""``fidelity: standalone``: every design trained from scratch, then optionally noise-aware.

The design is trained in float for ``epochs`` (:func:`evaluators.training.train`), then
fine-tuned for ``finetune_epochs`` through the noise model of its own hardware
(:func:`evaluators.accuracy.finetune_noise_aware`). The weights are cached under
``<cache_dir>/weights/<key>.pt``, keyed by the design and everything training reads, so
``dse export`` and a later search find them instead of training again; option ``retrain``
ignores the cache (and refreshes it).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from evaluators.accuracy import finetune_noise_aware
from evaluators.data import SegmentationData
from evaluators.design import Design
from evaluators.fidelities.base import Cost, Fidelity, register_fidelity
from evaluators.keys import content_key
from evaluators.training import train

WEIGHTS_FORMAT = 1  # bump when training changes so stale cached weights are not reused
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

    def network(self, design: Design, data: SegmentationData) -> nn.Module:
        network = design.build(data.num_classes, self.options.seed)
        path = self._weights_path(design)
        if path is not None and path.exists() and not self.options.retrain:
            network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return network.eval()
        self._train(network, design, data)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # workers may race
            torch.save({k: v.cpu() for k, v in network.state_dict().items()}, temporary)
            temporary.replace(path)
        return network

    def key(self, design: Design) -> str:
        options = self.options
        relevant = {name: getattr(options, name) for name in KEYED_OPTIONS}
        return content_key([WEIGHTS_FORMAT, dict(design.params), relevant])

    def cost(self, train_images: int) -> Cost:
        options = self.options
        return Cost(
            float_per_design=options.epochs * train_images,
            noisy_per_design=options.finetune_epochs * train_images,
        )

    def _train(self, network: nn.Module, design: Design, data: SegmentationData) -> None:
        """Float training, then noise-aware fine-tuning on the design's own noise model."""
        options = self.options
        train(
            network,
            data,
            epochs=options.epochs,
            seed=options.seed,
            device=options.device,
            batch_size=options.batch_size,
            lr=options.lr,
        )
        if options.finetune_epochs:
            finetune_noise_aware(
                network,
                data,
                design.noise,
                epochs=options.finetune_epochs,
                seed=options.seed,
                lr=options.finetune_lr,
                device=options.device,
            )

    def _weights_path(self, design: Design) -> Path | None:
        if self.options.cache_dir is None:
            return None
        return Path(self.options.cache_dir) / "weights" / f"{self.key(design)}.pt"
