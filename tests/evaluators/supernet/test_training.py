"""evaluators.supernet.training: the settings, in-place distillation and the noise ramp."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from evaluators import training
from evaluators.data import load_dataset, to_model_input
from evaluators.noise import NoiseConfig
from evaluators.supernet import Supernet, SupernetSettings, SupernetSpace, train_supernet
from evaluators.supernet.errors import SupernetSettingsError
from evaluators.supernet.training import distillation_loss, summed_distillation_loss
from evaluators.training import clip_gradient
from tests.support.supernet import DESIGN, DOMAINS, designs

pytestmark = pytest.mark.usefixtures("one_thread")


def test_settings_added_later_stay_out_of_the_key_at_their_defaults() -> None:
    default = SupernetSettings().identity()
    assert not set(SupernetSettings.ADDED) & set(default)
    assert SupernetSettings(distill=True).identity()["distill"] is True
    assert SupernetSettings(noise_ramp=0.5).identity()["noise_ramp"] == 0.5
    assert SupernetSettings(noise_max_grad_norm=10).identity()["noise_max_grad_norm"] == 10
    summed = SupernetSettings(distill=True, distill_students="sum")
    assert summed.identity()["distill_students"] == "sum"
    with pytest.raises(SupernetSettingsError, match="distill_students"):
        SupernetSettings(distill=True, distill_students="max")
    with pytest.raises(SupernetSettingsError, match="only with distill"):
        SupernetSettings(distill_students="sum")


def test_distillation_teaches_the_others_the_first_designs_predictions() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0).train()
    images = torch.rand(2, 3, 32, 32)
    labels = torch.randint(0, 5, (2, 32, 32))
    supernet.select(DESIGN)
    alone = distillation_loss(supernet, images, labels, 255)
    assert alone.item() == pytest.approx(F.cross_entropy(supernet(images), labels).item())
    teacher, student = designs(2, seed=4)
    supernet.select(teacher, student)
    logits = supernet.forward_each(images)
    assert [tuple(x.shape) for x in logits] == [(2, 5, 32, 32)] * 2  # both see the whole batch
    both = distillation_loss(supernet, images, labels, 255)
    supernet.select(teacher)
    assert both.item() > distillation_loss(supernet, images, labels, 255).item()


def test_summed_distillation_weighs_each_student_as_the_teacher() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0).train()
    images = torch.rand(2, 3, 32, 32)
    labels = torch.randint(0, 5, (2, 32, 32))
    teacher, *students = designs(3, seed=4)
    supernet.select(teacher)
    alone = distillation_loss(supernet, images, labels, 255).item()
    assert summed_distillation_loss(supernet, images, labels, 255).item() == pytest.approx(alone)
    supernet.select(teacher, *students)
    mean = distillation_loss(supernet, images, labels, 255).item() - alone
    summed = summed_distillation_loss(supernet, images, labels, 255).item() - alone
    assert mean > 0
    assert summed == pytest.approx(2 * mean, rel=1e-5)


def test_a_supernet_trains_with_distillation_a_noise_ramp_and_noise_clipping() -> None:
    data = load_dataset("synthetic", image_size=(32, 32), num_train=16, num_val=8)
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), data.num_classes, seed=0)
    settings = SupernetSettings(
        epochs=1, batch_size=8, paths_per_step=2, distill=True,
        noise_epochs=1, noise_batch_size=8, noise_ramp=1.0, noise_max_grad_norm=10.0,
    )  # fmt: skip
    seen: list[float] = []
    clipped: list[float] = []

    def noise_of(hw: dict[str, object]) -> NoiseConfig:
        return NoiseConfig()

    original = NoiseConfig.scaled

    def spy(self: NoiseConfig, factor: float) -> NoiseConfig:
        seen.append(factor)
        return original(self, factor)

    def clip(model: torch.nn.Module, max_norm: float) -> bool:
        clipped.append(max_norm)
        return clip_gradient(model, max_norm)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(NoiseConfig, "scaled", spy)
        patch.setattr(training, "clip_gradient", clip)
        results = train_supernet(supernet, data, settings, noise_of=noise_of, seed=0)
    assert all(math.isfinite(loss) for r in results for loss in r.epoch_losses)
    assert seen == [0.5, 1.0]  # two noise steps, a ramp over both: half the noise, then all
    assert clipped == [10.0, 10.0]  # the noise steps only
    with torch.no_grad():
        assert supernet.network(DESIGN)(to_model_input(data.val_images[:1])).isfinite().all()
