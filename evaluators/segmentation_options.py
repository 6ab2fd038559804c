"""`SegmentationOptions`: the ``evaluator.options`` of a space that names the photonic evaluator.

One declared table (see :mod:`evaluators.options`): the data, where a design's weights come from
(``fidelity`` and the recipes of the registered fidelities), how it is scored, and the base
hardware, noise and digital-reference options that every design starts from. Nested options
(``noise``, ``supernet``, ``reference``) are validated by their own classes, so a typo in
``noise: {sigma_ot: 0.1}`` fails as ``noise.sigma_ot: unknown option`` before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from numbers import Integral
from typing import Any, ClassVar

from evaluators.data import DATASETS, SegmentationData, load_dataset
from evaluators.hardware import DigitalReference, HardwareConfig
from evaluators.noise import NoiseConfig
from evaluators.options import OptionError, Options, knob
from evaluators.supernet import SupernetSettings

STANDALONE = "standalone training of each design (evaluators.fidelities.standalone)"
SUPERNET = "the supernet fidelity (evaluators.fidelities.supernet)"
FINETUNE = "the finetune fidelity (evaluators.fidelities.finetune)"


class EvaluatorOptionsError(OptionError):
    """A bad evaluator option: one line naming it."""


@dataclass(frozen=True)
class SegmentationOptions(Options):
    """Options of :class:`evaluators.photonic_segmentation.PhotonicSegmentationEvaluator`."""

    error: ClassVar[type[EvaluatorOptionsError]] = EvaluatorOptionsError

    # data
    dataset: str = knob("synthetic", choices=DATASETS, source="evaluators.data")
    data_root: str | None = knob(None, source="None: the dataset kind's default location")
    image_size: tuple[int, int] = knob((64, 64), unit="H, W pixels")
    num_train: int | None = knob(None, 1, None, "images", "None: the whole training split")
    num_val: int | None = knob(None, 1, None, "images", "None: the whole validation split")
    # where the weights come from: a registered fidelity and the recipes fidelities read
    fidelity: str = knob("supernet", source="evaluators.fidelities (registry)")
    epochs: int = knob(5, 1, None, "epochs", STANDALONE)
    batch_size: int = knob(16, 1, None, "images", STANDALONE)
    lr: float = knob(1e-2, 0.0, None, "", STANDALONE, open_low=True)
    finetune_epochs: int = knob(0, 0, None, "epochs", "noise-aware, after float training")
    finetune_lr: float = knob(2e-3, 0.0, None, "", "noise-aware fine-tuning", open_low=True)
    supernet: dict[str, Any] = knob({}, source="evaluators.supernet.SupernetSettings")
    recalibration_images: int = knob(64, 1, None, "images", "batch-norm statistics, " + SUPERNET)
    recalibration_noise: bool = knob(
        False, source="measure those statistics through the design's own noise model: " + SUPERNET
    )
    average_float_supernet: bool = knob(
        False, source="also score the slice of the float supernet (before its noise phase) and"
        " average: " + SUPERNET,
    )  # fmt: skip
    tune_epochs: int = knob(2, 0, None, "epochs", "float, from the inherited weights: " + FINETUNE)
    tune_lr: float = knob(2e-3, 0.0, None, "", FINETUNE, open_low=True)
    tune_images: int | None = knob(None, 1, None, "images", FINETUNE + "; None: the whole split")
    retrain: bool = knob(False, source="train standalone (export too), ignoring cached weights")
    # scoring
    noise_samples: int = knob(3, 1, None, "chips", "simulated chips per design")
    noise: dict[str, Any] = knob({}, source="evaluators.noise.NoiseConfig overrides")
    hardware: dict[str, Any] = knob({}, source="hw.* params every design starts from")
    reference: dict[str, Any] = knob({}, source="evaluators.hardware.DigitalReference")
    hardware_only: bool = knob(False, source="costs only: no training, no accuracy")
    # execution
    seed: int = knob(0, source="data subsets, initial weights, training, chips")
    device: str = knob("auto", source="auto: CUDA when present, else CPU")
    threads: int | None = knob(None, 1, None, "threads", "None: the runner's share of cores")
    # set by prepare for the workers
    cache_dir: str | None = knob(None, source="prepare: trained weights, for export")
    supernet_path: str | None = knob(None, source="prepare: the trained supernet workers load")
    float_supernet_path: str | None = knob(None, source="prepare: its float phase, if averaged")

    def validate(self) -> None:
        size = self.image_size
        if len(size) != 2 or not all(isinstance(s, Integral) and s > 0 for s in size):
            raise self.error(f"image_size={list(size)!r}: expected [H, W], two positive integers")
        for key in self.hardware:
            if not key.startswith("hw."):
                raise self.error(f"hardware.{key}: write hw.{key} (the keys are design params)")
            if not HardwareConfig.knows(key):
                raise self.error(f"hardware.{key}: unknown parameter; see evaluators/hardware")
        NoiseConfig.create(**self.noise)
        _ = self.supernet_settings, self.digital_reference  # parsed once, validated here
        if self.average_float_supernet and not self.supernet_settings.noise_epochs:
            raise self.error(
                "average_float_supernet: the supernet has no noise phase (supernet.noise_epochs"
                " is 0), so its float supernet is the supernet itself"
            )

    @cached_property
    def supernet_settings(self) -> SupernetSettings:
        return SupernetSettings.create(**self.supernet)

    @cached_property
    def digital_reference(self) -> DigitalReference:
        return DigitalReference.create(**self.reference)

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """The batch-1 input the hardware model costs and export traces."""
        height, width = self.image_size
        return (1, 3, height, width)

    def load_data(self, classes_only: bool = False) -> SegmentationData:
        """The data set these options name (what prepare and every worker load once); with
        ``classes_only`` one image of each split, for work that needs the classes and not the
        images (costing networks: generating a hardware-only worker's scenes took a minute)."""
        few = 1 if classes_only else None
        return load_dataset(
            self.dataset,
            data_root=self.data_root,
            image_size=self.image_size,
            seed=self.seed,
            num_train=few or self.num_train,
            num_val=few or self.num_val,
        )
