"""evaluate_hardware on any torch module and input: token sequences, attention, segmentation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from evaluators.hardware import HardwareConfig, evaluate_hardware, extract_layers
from tests.support.cli import run_dse
from tests.support.models import lite_segmenter, token_transformer

WIDTH, HEADS, TOKENS, BATCH = 64, 4, 10, 2


def gemms(report) -> list[dict]:
    return [r for r in report.rows() if r["groups"]]


def test_transformer_block_on_tokens_gives_the_layer_table_and_totals(tmp_path: Path) -> None:
    """Linear layers over (batch x tokens) vectors; Q K^T and A V per (batch, head), dynamic."""
    report = evaluate_hardware(token_transformer(WIDTH, HEADS, depth=1), (BATCH, TOKENS, WIDTH))
    table = [(r["op"], r["groups"], r["gemm_n"], r["gemm_d"], r["gemm_m"]) for r in gemms(report)]
    head, rows = WIDTH // HEADS, BATCH * TOKENS
    assert table == [
        ("linear", 1, 3 * WIDTH, WIDTH, rows),  # qkv
        ("matmul", BATCH * HEADS, TOKENS, head, TOKENS),  # scores
        ("matmul", BATCH * HEADS, TOKENS, TOKENS, head),  # context
        ("linear", 1, WIDTH, WIDTH, rows),  # proj
        ("linear", 1, 4 * WIDTH, WIDTH, rows),  # fc1
        ("linear", 1, WIDTH, 4 * WIDTH, rows),  # fc2
    ]
    attention_macs = 2 * BATCH * HEADS * TOKENS * TOKENS * head
    linear_macs = rows * WIDTH * WIDTH * (3 + 1 + 4 + 4)
    totals, metrics = report.totals(), report.metrics()
    assert totals["macs"] == attention_macs + linear_macs
    assert metrics["params"] == sum(
        p.numel() for p in token_transformer(WIDTH, HEADS, 1).parameters()
    )
    assert {r["op"] for r in report.rows()} >= {"norm", "softmax", "gelu", "add", "truediv"}
    assert totals["latency_us"] == pytest.approx(sum(float(r["latency_us"]) for r in report.rows()))
    assert metrics["throughput_fps"] > 0 and metrics["energy_uj"] > 0
    report.to_csv(tmp_path / "hardware.csv")
    assert len((tmp_path / "hardware.csv").read_text().splitlines()) == len(report.rows()) + 1


def test_attention_rows_are_reprogrammed_on_a_weight_stationary_core() -> None:
    """Q and the attention map are activations: a MEMS core programs them on every call."""
    layers = extract_layers(token_transformer(WIDTH, HEADS, depth=1), (BATCH, TOKENS, WIDTH))
    report = evaluate_hardware(
        token_transformer(WIDTH, HEADS, 1),
        (BATCH, TOKENS, WIDTH),
        HardwareConfig.preset("dota-b-mems"),
    )
    matmuls = [r for r in report.rows() if r["op"] == "matmul"]
    assert all(r["prog_events"] == r["weight_tiles"] > 0 for r in matmuls)
    assert [s.dynamic for s in layers if s.is_gemm] == [False, True, True, False, False, False]


def test_torch_attention_modules_expand_into_their_gemms() -> None:
    mha = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
    encoder = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(WIDTH, HEADS, 128, batch_first=True), 2
    )

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = mha

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attention(x, x, x)[0]

    layers = extract_layers(SelfAttention(), (BATCH, TOKENS, WIDTH))
    assert [s.module for s in layers if s.is_gemm] == [
        f"attention.{p}" for p in ("q_proj", "k_proj", "v_proj", "scores", "context", "out_proj")
    ]
    assert sum(s.params for s in layers) == sum(p.numel() for p in mha.parameters())
    scores = next(s for s in layers if s.module == "attention.scores")
    assert (scores.groups, scores.gemm_n, scores.gemm_d, scores.gemm_m) == (
        BATCH * HEADS,
        TOKENS,
        WIDTH // HEADS,
        TOKENS,
    )
    stack = extract_layers(encoder, (BATCH, TOKENS, WIDTH))
    assert sum(s.params for s in stack) == sum(p.numel() for p in encoder.parameters())
    assert sum(s.is_gemm for s in stack) == 2 * 8  # 6 attention GEMMs + 2 MLP layers per layer

    class Fused(nn.Module):
        def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return F.scaled_dot_product_attention(q, k, v)

    q = torch.randn(BATCH, HEADS, TOKENS, 16)
    fused = [s for s in extract_layers(Fused(), (q, q, q)) if s.is_gemm]
    assert [(s.groups, s.gemm_n, s.gemm_d, s.gemm_m) for s in fused] == [
        (BATCH * HEADS, TOKENS, 16, TOKENS),
        (BATCH * HEADS, TOKENS, TOKENS, 16),
    ]


def test_segmentation_network_gives_the_layer_table_and_totals() -> None:
    """An LR-ASPP-style network (MobileNetV3 blocks, squeeze-excite, upsampled heads)."""
    net = lite_segmenter(11)
    report = evaluate_hardware(net, (1, 3, 96, 128))
    ops = {str(r["op"]) for r in report.rows()}
    assert {"conv3x3/s2", "dwconv3x3/s2", "dwconv3x3", "conv1x1", "upsample-bilinear"} <= ops
    assert {"adaptive-avgpool", "hardsigmoid", "sigmoid", "hardswish", "batchnorm-folded"} <= ops
    assert report.metrics()["params"] == sum(p.numel() for p in net.parameters())
    assert report.rows()[-1]["op"] == "upsample-bilinear" and report.layers[-1].out_shape == (
        1,
        11,
        96,
        128,
    )
    assert report.metrics()["latency_ms"] > 0 and report.metrics()["utilization"] < 0.5


def _torchvision():
    try:
        import torchvision
    except Exception as error:  # missing, or a build for another torch (a CUDA wheel, say)
        pytest.skip(f"torchvision not importable here ({type(error).__name__}: {error})")
    return torchvision


def test_torchvision_segmentation_network() -> None:
    """torchvision's LR-ASPP MobileNetV3-Large, untrained: traced and costed as it is."""
    torchvision = _torchvision()
    net = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None
    )
    report = evaluate_hardware(net, (1, 3, 224, 224))
    assert report.metrics()["params"] == sum(p.numel() for p in net.parameters())
    assert report.metrics()["macs"] > 1e8 and report.metrics()["latency_ms"] > 0


def test_dse_evaluate_costs_a_model_named_by_module_factory(tmp_path: Path) -> None:
    design = {
        "evaluator": {
            "target": "evaluators.model_cost:ModelCostEvaluator",
            "options": {"model": "tests.support.models:token_transformer", "kwargs": {"depth": 2},
                        "input_shape": [BATCH, TOKENS, WIDTH]},
        },
        "params": {"hw.preset": "lt-dota-b", "hw.bits": 6},
    }  # fmt: skip
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(design))
    refused = run_dse(tmp_path, "evaluate", str(path), "--json", check=False)
    assert refused.returncode != 0 and "is not allowed" in refused.stderr + refused.stdout
    allowed = run_dse(
        tmp_path,
        "evaluate",
        str(path),
        "--json",
        "--allow-target",
        "tests.support.models:token_transformer",
    )
    metrics = json.loads(allowed.stdout)
    expected = evaluate_hardware(
        token_transformer(depth=2),
        (BATCH, TOKENS, WIDTH),
        HardwareConfig.from_params(design["params"]),
    )
    assert metrics["energy_uj"] == pytest.approx(expected.metrics()["energy_uj"])
    assert metrics["macs"] == expected.metrics()["macs"] and "digital_energy_uj" in metrics
