"""Training and scoring: real short trainings on synthetic scenes and CamVid must beat the
majority-class baseline clearly; a run is repeatable from its seed; the IoU arithmetic is exact."""

from __future__ import annotations

import logging
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from evaluators import training
from evaluators.accuracy import finetune_noise_aware
from evaluators.data import SegmentationData, load_dataset, to_model_input
from evaluators.network import build_network
from evaluators.noise import NoiseConfig
from evaluators.training import (
    Checkpoint,
    MiouResult,
    clip_gradient,
    confusion_matrix,
    evaluate_miou,
    resolve_device,
    scores,
    train,
    training_layout,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # under shared cores 1 thread is much faster


def majority_baseline(data: SegmentationData) -> MiouResult:
    """Scores of predicting the train split's most frequent class at every val pixel."""
    labels = data.train_labels[data.train_labels != data.ignore_index].long()
    majority = int(torch.bincount(labels, minlength=data.num_classes).argmax())
    predictions = torch.full_like(data.val_labels, majority)
    return scores(confusion_matrix(predictions, data.val_labels, data.num_classes))


def train_and_score(data: SegmentationData, params: dict[str, object], epochs: int) -> float:
    model = build_network(params, data.num_classes, seed=0)
    result = train(model, data, epochs=epochs, seed=0)
    assert all(math.isfinite(loss) for loss in result.epoch_losses)
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    return evaluate_miou(model, data.val_images, data.val_labels, num_classes=data.num_classes).miou


@pytest.mark.parametrize(
    "params",
    [
        {"arch.width": 16},
        {"arch.width": 16, "arch.block": "ghost", "arch.iterations": 2, "arch.anytime": True},
    ],
    ids=["standard", "ghost-x2-anytime"],
)
def test_synthetic_training_beats_majority_class(params: dict[str, object]) -> None:
    data = load_dataset("synthetic", num_train=192, num_val=32, seed=0)
    baseline = majority_baseline(data).miou
    miou = train_and_score(data, params, epochs=6)
    print(f"\n{params}: mIoU {miou:.3f}, majority baseline {baseline:.3f}")
    assert miou > baseline + 0.15, (miou, baseline)


def test_camvid_training_beats_majority_class(camvid_root: Path) -> None:
    data = load_dataset(
        "camvid", data_root=camvid_root, image_size=(96, 128), num_train=96, num_val=32, seed=0
    )
    baseline = majority_baseline(data).miou
    miou = train_and_score(data, {"arch.width": 16}, epochs=4)
    print(f"\ncamvid: mIoU {miou:.3f}, majority baseline {baseline:.3f}")
    assert miou > 2 * baseline + 0.05, (miou, baseline)


def test_same_seed_same_weights() -> None:
    data = load_dataset("synthetic", image_size=(32, 32), num_train=24, num_val=8, seed=1)
    params = {"arch.width": 8, "arch.block": "ghost", "arch.iterations": 2}

    def run(seed: int) -> tuple[dict[str, torch.Tensor], float, list[int]]:
        model = build_network(params, data.num_classes, seed=0)
        steps: list[int] = []
        train(model, data, epochs=2, seed=seed, batch_size=8, before_step=steps.append)
        miou = evaluate_miou(model, data.val_images, data.val_labels, num_classes=7).miou
        return model.state_dict(), miou, steps

    first, second, other = run(0), run(0), run(1)
    assert all(torch.equal(first[0][k], second[0][k]) for k in first[0])
    assert first[1] == second[1]
    assert not torch.equal(first[0]["stem.0.weight"], other[0]["stem.0.weight"])
    assert first[2] == list(range(6)), "before_step sees every step: 2 epochs x 24 // 8"


@pytest.mark.parametrize("noisy", [False, True], ids=["float", "noise-aware"])
def test_the_training_layout_changes_no_result_and_is_undone(
    noisy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Channels-last (the CPU's layout) trains the same network as NCHW, to float rounding, and
    hands it back in the default layout that scoring, caching and export expect. (Compared by
    what the networks compute: AdamW turns rounding noise in a gradient that should be zero, a
    bias ahead of batch norm, into steps of the learning rate's size in that bias.)"""
    data = load_dataset("synthetic", image_size=(32, 32), num_train=24, num_val=8, seed=0)
    params = {"arch.width": 8, "arch.block": "depthwise", "arch.kernel_size": 5}

    def run(layout: torch.memory_format) -> tuple[nn.Module, tuple[float, ...]]:
        monkeypatch.setattr(training, "training_layout", lambda device: layout)
        model = build_network(params, data.num_classes, seed=0)
        if noisy:  # the default chip (DOTA-B)
            result = finetune_noise_aware(model, data, NoiseConfig(), epochs=2, seed=0)
        else:
            result = train(model, data, epochs=2, seed=0, batch_size=8)
        return model, result.epoch_losses

    assert training_layout(torch.device("cpu")) == torch.channels_last
    last, last_losses = run(torch.channels_last)
    plain, plain_losses = run(torch.contiguous_format)
    assert last_losses == pytest.approx(plain_losses, rel=1e-3)
    assert all(t.is_contiguous() for t in last.state_dict().values()), "left in channels-last"
    images = to_model_input(data.val_images)
    with torch.no_grad():
        expected = plain(images)
        torch.testing.assert_close(last(images), expected, rtol=0, atol=1e-3 * expected.abs().max())


STRIDED_POINTWISE = """
import torch, torch.nn.functional as F
from torch import nn
from evaluators.training import _training_mode
def gradients(layout, sliced):
    store = nn.Conv2d(48 if sliced else 8, 48 if sliced else 16, 1, bias=False)
    nn.init.normal_(store.weight, generator=torch.Generator().manual_seed(0))
    weight = store.weight[:16, :8] if sliced else store.weight  # the supernet slices its shortcuts
    images = torch.randn(16, 8, 48, 64, generator=torch.Generator().manual_seed(1))
    with _training_mode(store, layout):
        images = images.contiguous(memory_format=layout)
        F.conv2d(images, weight, stride=2).square().sum().backward()
    return store.weight.grad
for sliced in (False, True):
    last = gradients(torch.channels_last, sliced)
    default = gradients(torch.contiguous_format, sliced)
    print(float((last - default).abs().max() / default.abs().max()))
"""


def test_strided_pointwise_convolutions_train_in_channels_last() -> None:
    """oneDNN's channels-last weight gradient of a strided 1x1 convolution over fewer channels
    than its vector block writes out of bounds (crashed an AMD EPYC's supernet training; oneDNN
    issue #6035): training routes it around, to the same gradient, for a layer's own weights and
    for a supernet's slice of them. In a subprocess, so that a crash fails this test instead of
    ending the session; it crashes only on CPUs with the bug, so the layout that such a
    convolution runs in is checked as well, on any CPU."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", STRIDED_POINTWISE], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-400:]}"
    assert [float(line) for line in done.stdout.split()] == [0.0, 0.0]

    shortcut = nn.Conv2d(8, 16, 1, stride=2)
    with training._training_mode(shortcut, torch.channels_last):
        output = shortcut(torch.rand(2, 8, 8, 8).contiguous(memory_format=torch.channels_last))
    assert output.is_contiguous(), "a strided 1x1 convolution ran in channels-last"


def test_a_training_stopped_by_an_error_hands_back_the_default_layout() -> None:
    data = load_dataset("synthetic", image_size=(32, 32), num_train=16, num_val=8, seed=0)
    model = build_network({"arch.width": 8}, data.num_classes, seed=0)

    def stop(step: int) -> None:
        if step == 1:
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        train(model, data, epochs=1, seed=0, batch_size=8, before_step=stop)
    assert all(t.is_contiguous() for t in model.state_dict().values()), "left in channels-last"
    assert not model.training


def test_scores_by_hand() -> None:
    labels = torch.tensor([[0, 0, 1, 1, 255, 3]])
    predictions = torch.tensor([[0, 1, 1, 1, 2, 0]])
    result = scores(confusion_matrix(predictions, labels, num_classes=4))
    # class 0: 1 hit, union 3; class 1: 2 hits, union 3; class 2: absent; class 3: 0 of 1.
    assert result.per_class_iou[0] == pytest.approx(1 / 3)
    assert result.per_class_iou[1] == pytest.approx(2 / 3)
    assert math.isnan(result.per_class_iou[2])
    assert result.per_class_iou[3] == 0.0
    assert result.miou == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert result.pixel_accuracy == pytest.approx(3 / 5)
    assert int(result.confusion.sum()) == 5


class Oracle(nn.Module):
    """Logits that pick a fixed class per pixel, to check evaluate_miou end to end."""

    answer: torch.Tensor

    def __init__(self, answer: torch.Tensor, num_classes: int) -> None:
        super().__init__()
        self.register_buffer("answer", answer)
        self.num_classes = num_classes
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        answer = self.answer[self.calls : self.calls + x.shape[0]]
        self.calls += x.shape[0]
        return nn.functional.one_hot(answer.long(), self.num_classes).permute(0, 3, 1, 2).float()


def test_evaluate_miou_batches_and_perfect_score() -> None:
    data = load_dataset("synthetic", image_size=(16, 16), num_train=2, num_val=5)
    truth = data.val_labels
    result = evaluate_miou(
        Oracle(truth, 7), data.val_images, truth, num_classes=7, batch_size=2, device="cpu"
    )
    assert result.miou == 1.0 and result.pixel_accuracy == 1.0


def test_resolve_device() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device().type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_clip_gradient_scales_a_large_gradient_and_refuses_a_non_finite_one() -> None:
    model = nn.Linear(2, 1)
    model.weight.grad = torch.tensor([[3e20, 4e20]])  # its square overflows float32
    model.bias.grad = torch.zeros(1)
    assert clip_gradient(model, 10.0)
    assert torch.allclose(model.weight.grad, torch.tensor([[6.0, 8.0]]))
    assert clip_gradient(model, 100.0)  # below the limit: left as it is
    assert torch.allclose(model.weight.grad, torch.tensor([[6.0, 8.0]]))
    model.bias.grad = torch.tensor([float("nan")])
    assert not clip_gradient(model, 10.0)


def test_steps_with_a_non_finite_gradient_are_skipped() -> None:
    data = load_dataset("synthetic", image_size=(32, 32), num_train=16, num_val=8, seed=0)
    model = build_network({"arch.width": 8}, data.num_classes, seed=0)
    before = [p.detach().clone() for p in model.parameters()]

    def exploding(model: nn.Module, images: torch.Tensor, *_: object) -> torch.Tensor:
        return model(images).sum() * float("inf")

    result = train(model, data, epochs=1, seed=0, loss=exploding, max_grad_norm=1.0)
    assert result.skipped_steps == result.steps == 2
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))


def dropout_loss(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, ignore: int
) -> torch.Tensor:
    """Cross-entropy through dropout: draws from the global random stream every step."""
    return F.cross_entropy(F.dropout(model(images), 0.3), labels, ignore_index=ignore)


class Stop(Exception):
    """The job stopped (a crash, a killed process) before a step."""


def resumable_run(
    data: SegmentationData,
    checkpoint: Checkpoint | None,
    stop_at: int | None = None,
    lr: float = 5e-3,
) -> tuple[nn.Module, tuple[float, ...]]:
    model = build_network({"arch.width": 8}, data.num_classes, seed=0)

    def before(step: int) -> None:
        if step == stop_at:
            raise Stop

    result = train(
        model, data, epochs=3, seed=0, batch_size=8, lr=lr, loss=dropout_loss,
        before_step=before, checkpoint=checkpoint,
    )  # fmt: skip
    return model, result.epoch_losses


def test_a_stopped_training_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path: Path) -> None:
    data = load_dataset("synthetic", image_size=(32, 32), num_train=24, num_val=8, seed=0)
    expected, expected_losses = resumable_run(data, None)
    checkpoint = Checkpoint(tmp_path / "run.partial.pt", every_seconds=0)  # after every step
    with pytest.raises(Stop):
        resumable_run(data, checkpoint, stop_at=4)  # in the second of 3 epochs of 3 steps
    assert checkpoint.path.exists()
    resumed, losses = resumable_run(data, checkpoint)
    assert losses == expected_losses
    state = resumed.state_dict()
    assert all(torch.equal(state[k], v) for k, v in expected.state_dict().items())
    assert not checkpoint.path.exists(), "a finished training leaves no checkpoint"


def test_a_checkpoint_of_another_training_is_refused_and_the_run_starts_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = load_dataset("synthetic", image_size=(32, 32), num_train=24, num_val=8, seed=0)
    checkpoint = Checkpoint(tmp_path / "run.partial.pt", every_seconds=0)
    with pytest.raises(Stop):
        resumable_run(data, checkpoint, stop_at=4, lr=1e-3)
    expected, _ = resumable_run(data, None)
    with caplog.at_level(logging.WARNING, logger="evaluators.training"):
        fresh, _ = resumable_run(data, checkpoint)
    assert "not used, training from the start" in caplog.text
    state = fresh.state_dict()
    assert all(torch.equal(state[k], v) for k, v in expected.state_dict().items())
