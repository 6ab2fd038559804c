"""What the fidelities that train share: two training phases, and the cache of their result.

A design is trained in float (``epochs`` at ``lr``), then fine-tuned through the noise and
quantization model of its own hardware (the options' ``finetune_epochs`` at ``finetune_lr``:
:func:`evaluators.accuracy.finetune_noise_aware`), optionally on a seeded subset of the training
split. The result is filed under ``<cache_dir>/weights/<key>.pt`` (the fidelity's content key),
written next to its name and renamed, so concurrent workers never read half a file; a training in
progress files checkpoints beside it (``<key>.float.partial.pt``, ``<key>.noisy.partial.pt``), so
that one stopped before its end resumes where it was (:class:`evaluators.training.Checkpoint`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from evaluators.accuracy import finetune_noise_aware
from evaluators.data import SegmentationData
from evaluators.design import Design
from evaluators.files import write_atomically
from evaluators.segmentation_options import SegmentationOptions
from evaluators.training import Checkpoint, train


class WeightCache:
    """Trained weights by content key (no cache without a cache directory)."""

    def __init__(self, cache_dir: str | None) -> None:
        self.directory = Path(cache_dir) / "weights" if cache_dir is not None else None

    def path(self, key: str) -> Path | None:
        return self.directory / f"{key}.pt" if self.directory is not None else None

    def load(self, key: str, network: nn.Module) -> bool:
        """Load the weights filed under ``key`` into ``network``; False when there are none."""
        path = self.path(key)
        if path is None or not path.exists():
            return False
        network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        network.eval()
        return True

    def checkpoint(self, key: str, phase: str) -> Checkpoint | None:
        """Where the training of ``phase`` (``float``, ``noisy``) towards ``key`` files its
        progress; None without a cache directory."""
        path = self.path(key)
        return Checkpoint(path.with_name(f"{key}.{phase}.partial.pt")) if path else None

    def save(self, key: str, network: nn.Module) -> None:
        path = self.path(key)
        if path is None:
            return
        state = {k: v.cpu() for k, v in network.state_dict().items()}
        write_atomically(path, lambda temporary: torch.save(state, temporary))


def train_in_two_phases(
    network: nn.Module,
    design: Design,
    data: SegmentationData,
    options: SegmentationOptions,
    *,
    epochs: int,
    lr: float,
    images: int | None = None,
    checkpoints: Callable[[str], Checkpoint | None] | None = None,
) -> None:
    """Float training for ``epochs`` at ``lr``, then ``options.finetune_epochs`` noise-aware on
    the design's own noise model; on ``images`` training frames (a seeded subset) if given.
    ``checkpoints(phase)``: where each phase (``float``, ``noisy``) files its progress."""
    data = data.subset(images, None, options.seed) if images is not None else data
    if epochs:
        train(
            network,
            data,
            epochs=epochs,
            seed=options.seed,
            device=options.device,
            batch_size=options.batch_size,
            lr=lr,
            checkpoint=checkpoints("float") if checkpoints else None,
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
            checkpoint=checkpoints("noisy") if checkpoints else None,
        )
    network.eval()
