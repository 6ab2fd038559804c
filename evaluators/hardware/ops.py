"""Digital work of the operations the photonic array does not run (docs/photonic-model.md §4.4).

Ops per operation (e_op each, plus the buffer traffic of :mod:`.memory`):
- batch norm: 2 per element, or 0 when folded into the conv or linear layer that feeds it alone;
- group/layer/instance norm: 5 per element (mean, variance, normalise, scale, shift: assumption);
- activations, residual adds and any other elementwise op: 1 per output element (the fallback
  for every operation not listed here);
- k x k pooling: k^2 per output; adaptive pooling and reductions (mean, sum): 1 per input;
- upsampling: bilinear 7 per output element, nearest 1, bicubic 31 (16 taps: assumption);
- concatenation and embedding lookups: 0 (memory traffic only); argmax: C-1 compares per pixel
  (inputs - outputs); softmax: 6 per element (attention.SOFTMAX_OPS).

Shape-only operations (views, reshapes, indexing, dropout, identity) cost nothing and produce
no layer. Products (``matmul``, ``@``, ``bmm``, ``F.linear``) and attention functions are GEMMs
(:mod:`.attention`); convolutions written as functions and ``einsum`` are rejected: the mapping
needs their shapes as nn.Conv modules give them.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .attention import SOFTMAX_OPS


@dataclass(frozen=True)
class OpSite:
    """What a rule may look at: element counts and the call's module or arguments."""

    in_elems: int
    out_elems: int
    module: nn.Module | None = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def setting(self, name: str, position: int, default: Any) -> Any:
        """An argument of the call (module attribute, keyword or position), else ``default``."""
        if self.module is not None:
            return getattr(self.module, name, default)
        if name in self.kwargs:
            return self.kwargs[name]
        return self.args[position] if len(self.args) > position else default


@dataclass(frozen=True)
class DigitalRule:
    """Label and op count of one kind of digital operation."""

    label: str
    ops: Callable[[OpSite], int]
    foldable: bool = False  # batch norm: free when folded into the preceding GEMM
    qualifier: Callable[[OpSite], str] | None = None  # appended to the label (upsample mode)

    def describe(self, site: OpSite) -> str:
        """The label shown in reports, e.g. ``upsample-bilinear``."""
        return self.label if self.qualifier is None else f"{self.label}-{self.qualifier(site)}"


def _per_output(k: int) -> Callable[[OpSite], int]:
    return lambda site: k * site.out_elems


def _per_input(site: OpSite) -> int:
    return site.in_elems


def _pool(site: OpSite) -> int:
    kernel = site.setting("kernel_size", 1, 1)
    window = math.prod(kernel) if isinstance(kernel, tuple | list) else kernel * kernel
    return window * site.out_elems


UPSAMPLE_OPS = {"nearest": 1, "nearest-exact": 1, "bilinear": 7, "bicubic": 31}


def _upsample_mode(site: OpSite) -> str:
    return str(site.setting("mode", 3, "nearest"))


def _upsample(site: OpSite) -> int:
    return UPSAMPLE_OPS.get(_upsample_mode(site), 7) * site.out_elems


def _argmax(site: OpSite) -> int:
    return site.in_elems - site.out_elems


ELEMENTWISE = _per_output(1)
BATCHNORM = DigitalRule("batchnorm", _per_output(2), foldable=True)
STAT_NORM = DigitalRule("norm", _per_output(5))
UPSAMPLE = DigitalRule("upsample", _upsample, qualifier=_upsample_mode)
REDUCE = DigitalRule("reduce", _per_input)
CONCAT = DigitalRule("cat", lambda site: 0)
ARGMAX = DigitalRule("argmax", _argmax)
SOFTMAX = DigitalRule("softmax", _per_output(SOFTMAX_OPS))

MODULE_RULES: dict[type[nn.Module], DigitalRule] = {
    nn.modules.batchnorm._BatchNorm: BATCHNORM,
    nn.GroupNorm: STAT_NORM,
    nn.LayerNorm: STAT_NORM,
    nn.modules.instancenorm._InstanceNorm: STAT_NORM,
    nn.MaxPool2d: DigitalRule("maxpool", _pool),
    nn.AvgPool2d: DigitalRule("avgpool", _pool),
    nn.AdaptiveAvgPool2d: DigitalRule("adaptive-avgpool", _per_input),
    nn.AdaptiveMaxPool2d: DigitalRule("adaptive-maxpool", _per_input),
    nn.Upsample: UPSAMPLE,
    nn.Softmax: SOFTMAX,
    nn.Embedding: DigitalRule("embedding", lambda site: 0),
}

# Keys: the function object of a call_function node, or the method name of a call_method node.
FUNCTION_RULES: dict[object, DigitalRule] = {
    torch.cat: CONCAT,
    torch.concat: CONCAT,
    torch.stack: CONCAT,
    F.interpolate: UPSAMPLE,
    F.max_pool2d: DigitalRule("maxpool", _pool),
    F.avg_pool2d: DigitalRule("avgpool", _pool),
    F.adaptive_avg_pool2d: DigitalRule("adaptive-avgpool", _per_input),
    F.adaptive_max_pool2d: DigitalRule("adaptive-maxpool", _per_input),
    F.batch_norm: BATCHNORM,
    F.layer_norm: STAT_NORM,
    F.group_norm: STAT_NORM,
    torch.mean: REDUCE,
    "mean": REDUCE,
    torch.sum: REDUCE,
    "sum": REDUCE,
    torch.argmax: ARGMAX,
    "argmax": ARGMAX,
    F.softmax: SOFTMAX,
    torch.softmax: SOFTMAX,
    "softmax": SOFTMAX,
}

ALIAS_MODULES: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.modules.dropout._DropoutNd,
    nn.Flatten,
    nn.Unflatten,
)
ALIAS_FUNCTIONS: frozenset[object] = frozenset(
    {
        operator.getitem,
        getattr,
        torch.flatten,
        torch.reshape,
        torch.permute,
        torch.transpose,
        torch.squeeze,
        torch.unsqueeze,
        torch.chunk,
        torch.split,
        F.dropout,
        "view",
        "reshape",
        "flatten",
        "permute",
        "transpose",
        "contiguous",
        "size",
        "dim",
        "chunk",
        "split",
        "squeeze",
        "unsqueeze",
        "expand",
        "expand_as",
        "to",
        "type",
        "float",
        "detach",
        "clone",
    }
)
PRODUCT_FUNCTIONS: frozenset[object] = frozenset(
    {torch.matmul, torch.mm, torch.bmm, operator.matmul, "matmul", "mm", "bmm", F.linear}
)
ATTENTION_FUNCTIONS: frozenset[object] = frozenset({F.scaled_dot_product_attention})
REJECTED_FUNCTIONS: frozenset[object] = frozenset(
    {
        F.conv1d,
        F.conv2d,
        F.conv3d,
        F.conv_transpose1d,
        F.conv_transpose2d,
        F.conv_transpose3d,
        torch.einsum,
        torch.addmm,
        torch.baddbmm,
        "addmm",
        "baddbmm",
    }
)


def module_rule(module: nn.Module) -> DigitalRule | None:
    """The rule of the closest class in ``module``'s MRO, if any."""
    for cls in type(module).__mro__:
        if cls in MODULE_RULES:
            return MODULE_RULES[cls]
    return None


def elementwise_rule(label: str) -> DigitalRule:
    """The fallback: one op per output element, labelled with the operation's own name."""
    return DigitalRule(label.lower().strip("_"), ELEMENTWISE)
