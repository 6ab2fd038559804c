"""GEMMs that are not a Conv or Linear module: products of activations and attention layers.

docs/photonic-model.md §1. A product A·B of two activations (``torch.matmul``, ``@``, ``bmm``)
is ``prod(batch dims)`` independent GEMMs with A on the rows (N = rows of A, D = the shared
dimension, M = columns of B): the DPTC modulates both operands every cycle, so either may sit on
the row side, and LT's attention simulator (``simulator_attn.py``) puts Q and the attention map on
it. Such a row operand is ``dynamic``: it holds no parameters and a weight-stationary core must
program it on every call. When one operand is a parameter (``x @ self.weight``, ``F.linear``) the
parameter goes on the rows, as for nn.Linear.

Attention, where torch hides its GEMMs inside one call (``nn.MultiheadAttention``,
``F.scaled_dot_product_attention``, ``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder``,
whose forwards torch.fx cannot trace), is expanded into the projections (Linear GEMMs), the
scores Q·K^T and the context A·V per (batch, head) (dynamic GEMMs), and the digital softmax
(:data:`SOFTMAX_OPS` per score), as LT's ``simulator_attn.py`` and ``simulator_FFN.py`` cost them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from .layers import Shape

SOFTMAX_OPS = 6  # per score: scale, max, subtract, exp, sum, divide (assumption, §4.4)
NORM_OPS = 5  # per element, as ops.STAT_NORM


@dataclass(frozen=True)
class Part:
    """One layer produced by a graph node: a GEMM (``groups`` > 0) or digital work."""

    op: str
    ins: tuple[Shape, ...]
    out: Shape
    groups: int = 0
    gemm_n: int = 0
    gemm_d: int = 0
    gemm_m: int = 0
    digital_ops: int = 0
    params: int = 0
    dynamic: bool = False
    suffix: str | None = None  # name of the part within its node, None for a node's only part

    @property
    def macs(self) -> int:
        return self.groups * self.gemm_n * self.gemm_d * self.gemm_m


def linear_part(
    suffix: str | None, n: int, d: int, tokens: int, params: int, bias: bool, op: str = "linear"
) -> Part:
    """out = W x (+ b) over ``tokens`` vectors: N = n, D = d, M = tokens; a bias add per output."""
    return Part(
        op,
        ((tokens, d),),
        (tokens, n),
        groups=1,
        gemm_n=n,
        gemm_d=d,
        gemm_m=tokens,
        digital_ops=tokens * n if bias else 0,
        params=params,
        suffix=suffix,
    )


def product(a: Shape, b: Shape, op: str = "matmul", suffix: str | None = None) -> Part:
    """A @ B of two activations, numpy broadcasting over the batch dims (1-D operands allowed)."""
    rows = (1, *a) if len(a) == 1 else a
    cols = (*b, 1) if len(b) == 1 else b
    batch = _broadcast(rows[:-2], cols[:-2])
    n, d, m = rows[-2], rows[-1], cols[-1]
    return Part(
        op,
        (a, b),
        (*batch, n, m),
        groups=math.prod(batch),
        gemm_n=n,
        gemm_d=d,
        gemm_m=m,
        dynamic=True,
        suffix=suffix,
    )


def parameter_product(x: Shape, weight: Shape, params: int, bias: bool) -> Part:
    """x @ W with W a parameter of (D, N) (or F.linear's (N, D), passed transposed)."""
    d, n = (weight[0], 1) if len(weight) == 1 else weight[-2:]
    return linear_part(None, n, d, math.prod(x) // d, params, bias)


def attention(q: Shape, k: Shape, v: Shape, prefix: str = "") -> list[Part]:
    """softmax(Q K^T) V over (..., L, E) queries, (..., S, E) keys and (..., S, Ev) values."""
    source = k[-2]
    scores = product(q, (*k[:-2], k[-1], source), "attention-scores", prefix + "scores")
    softmax = Part(
        "softmax",
        (scores.out,),
        scores.out,
        digital_ops=SOFTMAX_OPS * math.prod(scores.out),
        suffix=prefix + "softmax",
    )
    context = product(scores.out, v, "attention-context", prefix + "context")
    return [scores, softmax, context]


def multihead_attention(
    m: nn.MultiheadAttention, ins: Sequence[Shape], prefix: str = ""
) -> list[Part]:
    """nn.MultiheadAttention(query, key, value): q/k/v projections, attention per head, output
    projection. Shapes (L, B, E), or (B, L, E) with ``batch_first``, or unbatched (L, E)."""
    query, key = ins[0], ins[1]

    def tokens(shape: Shape) -> tuple[int, int]:  # (batch, sequence length)
        if len(shape) == 2:
            return 1, shape[0]
        return (shape[0], shape[1]) if m.batch_first else (shape[1], shape[0])

    (batch, length), (_, source) = tokens(query), tokens(key)
    e, heads = m.embed_dim, m.num_heads
    head = e // heads
    out_params = sum(p.numel() for p in m.out_proj.parameters())
    in_params = sum(p.numel() for p in m.parameters()) - out_params
    bias = m.in_proj_bias is not None
    per_head = (batch * heads, length, head), (batch * heads, source, head)
    return [
        linear_part(prefix + "q_proj", e, m.embed_dim, batch * length, in_params, bias),
        linear_part(prefix + "k_proj", e, m.kdim, batch * source, 0, bias),
        linear_part(prefix + "v_proj", e, m.vdim, batch * source, 0, bias),
        *attention(per_head[0], per_head[1], per_head[1], prefix),
        linear_part(
            prefix + "out_proj", e, e, batch * length, out_params, m.out_proj.bias is not None
        ),
    ]


def encoder_layer(m: nn.TransformerEncoderLayer, x: Shape, prefix: str = "") -> list[Part]:
    """nn.TransformerEncoderLayer: self-attention, two residual adds, two norms, the MLP."""
    elems = math.prod(x)
    e = m.linear1.in_features
    tokens = elems // e
    ff = m.linear1.out_features

    def digital(name: str, ops: int, op: str) -> Part:
        return Part(op, (x,), x, digital_ops=ops, suffix=prefix + name,
                    params=_params(getattr(m, name, None)))  # fmt: skip

    mlp_in = _params(m.linear1)
    return [
        *multihead_attention(m.self_attn, (x, x, x), prefix + "self_attn."),
        digital("add1", elems, "add"),
        digital("norm1", NORM_OPS * elems, "norm"),
        linear_part(prefix + "linear1", ff, e, tokens, mlp_in, m.linear1.bias is not None),
        Part(
            "activation",
            ((tokens, ff),),
            (tokens, ff),
            digital_ops=tokens * ff,
            suffix=prefix + "activation",
        ),
        linear_part(
            prefix + "linear2", e, ff, tokens, _params(m.linear2), m.linear2.bias is not None
        ),
        digital("add2", elems, "add"),
        digital("norm2", NORM_OPS * elems, "norm"),
    ]


def encoder(m: nn.TransformerEncoder, x: Shape) -> list[Part]:
    """nn.TransformerEncoder: its layers one after another, then its optional final norm."""
    parts = [p for i, layer in enumerate(m.layers) for p in encoder_layer(layer, x, f"layers.{i}.")]
    if m.norm is not None:
        elems = math.prod(x)
        ops, params = NORM_OPS * elems, _params(m.norm)
        parts.append(Part("norm", (x,), x, digital_ops=ops, params=params, suffix="norm"))
    return parts


def _params(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def _broadcast(a: Shape, b: Shape) -> Shape:
    """numpy broadcasting of two batch shapes."""
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + a, (1,) * (width - len(b)) + b
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))
