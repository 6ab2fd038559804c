"""Layer extraction: GEMM shapes, digital ops, weight sharing and network I/O from a real trace."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from evaluators.hardware import ExtractionError, extract_layers
from tests.support.hardware import SharedBlockNet, only_gemm


class NoisyConv2d(nn.Conv2d):
    """Stands in for the noisy photonic subclass: same parameters, extra work in forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + 0.01 * torch.randn_like(x[:, :1])


def test_standard_conv_gemm_shape() -> None:
    spec = only_gemm(nn.Conv2d(8, 6, 3, padding=1), (1, 8, 6, 6))
    # N = 6, D = 8*9 = 72, M = 36 pixels; MACs = 6*72*36; params = 6*8*9 + 6 bias
    assert (spec.groups, spec.gemm_n, spec.gemm_d, spec.gemm_m) == (1, 6, 72, 36)
    assert (spec.macs, spec.params, spec.op) == (15552, 438, "conv3x3")
    assert spec.digital_ops == 216  # one bias add per output element


def test_depthwise_grouped_and_strided_conv() -> None:
    dw = only_gemm(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), (1, 8, 6, 6))
    assert (dw.groups, dw.gemm_n, dw.gemm_d, dw.gemm_m, dw.macs) == (8, 1, 9, 36, 2592)
    assert dw.op == "dwconv3x3" and dw.digital_ops == 0
    grouped = only_gemm(nn.Conv2d(8, 12, 3, padding=1, groups=4, bias=False), (1, 8, 6, 6))
    assert (grouped.groups, grouped.gemm_n, grouped.gemm_d, grouped.macs) == (4, 3, 18, 7776)
    assert grouped.op == "gconv3x3/g4"
    strided = only_gemm(nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 8, 8))
    assert (strided.gemm_m, strided.op) == (2 * 4 * 4, "conv3x3/s2")  # batch 2, 4x4 output


def test_pointwise_linear_and_transposed_conv() -> None:
    pw = only_gemm(nn.Conv2d(8, 6, 1), (1, 8, 6, 6))
    assert (pw.gemm_n, pw.gemm_d, pw.gemm_m, pw.macs, pw.op) == (6, 8, 36, 1728, "conv1x1")
    fc = only_gemm(nn.Sequential(nn.Flatten(), nn.Linear(12, 5)), (2, 3, 2, 2))
    assert (fc.gemm_n, fc.gemm_d, fc.gemm_m, fc.macs, fc.params) == (5, 12, 2, 120, 65)
    up = only_gemm(nn.ConvTranspose2d(4, 2, 2, stride=2), (1, 4, 3, 3))
    # N = 2*2*2 = 8 kernel outputs per input pixel, D = 4 channels, M = 9 input pixels
    assert (up.gemm_n, up.gemm_d, up.gemm_m, up.macs, up.op) == (8, 4, 9, 288, "deconv2x2")
    assert up.digital_ops == 8 * 9 + 2 * 6 * 6  # col2im adds + bias


def test_conv_subclasses_stay_leaves() -> None:
    spec = only_gemm(nn.Sequential(NoisyConv2d(4, 4, 3, padding=1)), (1, 4, 5, 5))
    assert (spec.module, spec.macs) == ("0", 4 * 36 * 25)


class DigitalNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.bn_shared_input = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # 1x4x4x4 = 64 values
        a = F.relu(self.bn(y))  # not folded: y also feeds the second BN
        b = self.bn_shared_input(y)
        z = torch.cat([a + b, a], dim=1)  # 128 values
        z = self.pool(z)  # 1x8x2x2 = 32 outputs
        z = F.interpolate(z, scale_factor=2.0, mode="bilinear", align_corners=False)
        return z.view(1, 8, 4, 4).argmax(dim=1)


def test_functional_and_module_digital_ops() -> None:
    layers = extract_layers(DigitalNet(), (1, 3, 4, 4))
    ops = {s.op: s.digital_ops for s in layers}
    assert [s.op for s in layers] == [
        "conv1x1",
        "batchnorm",
        "relu",
        "batchnorm",
        "add",
        "cat",
        "maxpool",
        "upsample-bilinear",
        "argmax",
    ]
    assert ops["batchnorm"] == 2 * 64  # unfolded: the conv output has two users
    assert (ops["relu"], ops["add"], ops["cat"]) == (64, 64, 0)
    assert ops["maxpool"] == 4 * 32  # k^2 per output
    assert ops["upsample-bilinear"] == 7 * 128
    assert ops["argmax"] == 128 - 16  # C - 1 compares per pixel
    cat = next(s for s in layers if s.op == "cat")
    assert cat.in_elems == 128 and cat.out_elems == 128  # both inputs read


def test_batchnorm_after_a_lone_conv_is_folded() -> None:
    layers = extract_layers(nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)), (1, 3, 4, 4))
    assert [(s.op, s.digital_ops, s.params) for s in layers[1:]] == [("batchnorm-folded", 0, 8)]


def test_weight_shared_calls_share_module_path() -> None:
    layers = extract_layers(SharedBlockNet(iterations=3), (1, 3, 4, 4))
    block = [s for s in layers if s.module == "block.0"]
    assert [s.call_index for s in block] == [0, 1, 2]
    assert len({s.name for s in block}) == 3
    assert all(s.params == 12 * 12 + 12 for s in block)


def test_network_input_and_output_are_charged_to_dram() -> None:
    layers = extract_layers(SharedBlockNet(iterations=1), (1, 3, 4, 4))
    assert layers[0].io_elems == 3 * 16
    assert layers[-1].io_elems == 5 * 16  # the head writes the output
    assert sum(s.io_elems for s in layers) == 3 * 16 + 5 * 16


def test_wrapped_passthrough_checks_cost_nothing() -> None:
    class Checked(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return _check_positive(x) * 2

    layers = extract_layers(Checked(), (1, 1, 2, 2))
    assert [s.op for s in layers] == ["mul"]


def _check_positive(x: torch.Tensor) -> torch.Tensor:
    return x


torch.fx.wrap("_check_positive")


class Functional(nn.Module):
    """F.linear and x @ W on parameters: GEMMs with the parameter on the rows."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(6, 4))  # F.linear's (N, D)
        self.bias = nn.Parameter(torch.zeros(6))
        self.project = nn.Parameter(torch.ones(6, 3))  # x @ W's (D, N)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias) @ self.project


def test_functional_products_of_parameters_are_linear_gemms() -> None:
    first, second = extract_layers(Functional(), (2, 5, 4))
    assert (first.op, first.gemm_n, first.gemm_d, first.gemm_m, first.params) == (
        "linear", 6, 4, 10, 30,
    )  # fmt: skip
    assert (second.gemm_n, second.gemm_d, second.gemm_m, second.params) == (3, 6, 10, 18)
    assert not first.dynamic and first.digital_ops == 60  # bias adds


def test_functional_convolution_is_rejected_with_the_node_name() -> None:
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(2, 1, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.conv2d(x, self.weight)

    with pytest.raises(ExtractionError, match=r"conv2d: conv2d is not mapped; use nn\.Conv"):
        extract_layers(Functional(), (1, 1, 2, 2))


def test_unknown_module_with_weight_matrices_is_an_error() -> None:
    with pytest.raises(ExtractionError, match="LSTM holds weight matrices"):
        extract_layers(nn.LSTM(4, 4), (3, 2, 4))


def test_bad_input_shape_and_untraceable_model() -> None:
    with pytest.raises(ExtractionError, match=r"input=\(1, 0, 4\): expected a shape"):
        extract_layers(nn.Conv2d(1, 1, 1), (1, 0, 4))
    with pytest.raises(ExtractionError, match="Conv2d fails on the example input"):
        extract_layers(nn.Conv2d(3, 1, 1), (1, 2, 4, 4))

    class Branchy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x if x.sum() > 0 else -x

    with pytest.raises(ExtractionError, match="cannot trace Branchy"):
        extract_layers(Branchy(), (1, 1, 2, 2))


def test_extraction_restores_training_mode() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    model.train()
    model[1].eval()
    extract_layers(model, (1, 1, 2, 2))
    assert model.training and model[0].training and not model[1].training


@settings(max_examples=25, deadline=None)
@given(
    groups=st.sampled_from([1, 2, 4]),
    cin_per_group=st.integers(1, 3),
    cout_per_group=st.integers(1, 3),
    kernel=st.sampled_from([1, 3, 5]),
    stride=st.integers(1, 2),
    size=st.integers(5, 9),
)
def test_conv_macs_equal_the_textbook_formula(
    groups: int, cin_per_group: int, cout_per_group: int, kernel: int, stride: int, size: int
) -> None:
    cin, cout = groups * cin_per_group, groups * cout_per_group
    conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups)
    spec = only_gemm(conv, (1, cin, size, size + 1))
    _, _, h_out, w_out = spec.out_shape
    assert h_out == (size + 2 * (kernel // 2) - kernel) // stride + 1
    assert spec.macs * groups == kernel * kernel * cin * cout * h_out * w_out
