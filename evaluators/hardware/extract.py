"""Layer extraction from the real torch network: torch.fx symbolic trace + shape propagation.

The traced graph is the single source of truth; nothing describes the network a second time.
Every ``nn.Conv2d``, ``nn.ConvTranspose2d`` and ``nn.Linear`` subclass (the noisy photonic layers
included) stays a leaf and becomes a GEMM (docs/photonic-model.md §1, im2col)::

    conv:   groups g, N = C_out/g, D = (C_in/g)*kh*kw, M = B*H_out*W_out
    deconv: groups g, N = (C_out/g)*kh*kw, D = C_in/g, M = B*H_in*W_in  (+ col2im adds)
    linear: groups 1, N = out_features, D = in_features, M = elements / in_features

so MACs = g*N*D*M = kh*kw*C_in*C_out*H_out*W_out*B/g for a convolution. Functional ops
(``F.relu``, ``+``, ``torch.cat``, ``F.interpolate``, ...) and other leaf modules become digital
layers costed by :mod:`.ops`. A module called several times keeps its module path in every
call's ``LayerSpec.module`` with a rising ``call_index``: that is how weight-shared iterations
are recognised. ``io_elems`` marks the network input (on the first layer) and output (on the
layers producing it), which travel to and from DRAM.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from .errors import ExtractionError
from .layers import LayerSpec, Shape
from .ops import (
    ALIAS_FUNCTIONS,
    ALIAS_MODULES,
    FUNCTION_RULES,
    GEMM_FUNCTIONS,
    OpSite,
    elementwise_rule,
    module_rule,
)

CALLS = ("call_module", "call_function", "call_method")
RETURNS_INPUT = "hardware_returns_input"  # node.meta key set during shape propagation


def _conv_label(m: nn.Conv2d) -> str:
    kh, kw = m.kernel_size
    kind = "dwconv" if m.groups == m.in_channels > 1 else "gconv" if m.groups > 1 else "conv"
    groups = f"/g{m.groups}" if kind == "gconv" else ""
    stride = f"/s{m.stride[0]}" if tuple(m.stride) != (1, 1) else ""
    return f"{kind}{kh}x{kw}{groups}{stride}"


def _conv(m: nn.Conv2d, x: Shape, y: Shape) -> dict[str, Any]:
    g, (kh, kw) = m.groups, m.kernel_size
    gemm = {
        "groups": g,
        "gemm_n": m.out_channels // g,
        "gemm_d": m.in_channels // g * kh * kw,
        "gemm_m": y[0] * y[2] * y[3],
    }
    return {"op": _conv_label(m), **gemm, "digital_ops": math.prod(y) if m.bias is not None else 0}


def _deconv(m: nn.ConvTranspose2d, x: Shape, y: Shape) -> dict[str, Any]:
    g, (kh, kw) = m.groups, m.kernel_size
    n, mm = m.out_channels // g * kh * kw, x[0] * x[2] * x[3]
    col2im = g * n * mm + (math.prod(y) if m.bias is not None else 0)  # overlap-add, bias
    gemm = {"groups": g, "gemm_n": n, "gemm_d": m.in_channels // g, "gemm_m": mm}
    return {"op": f"deconv{kh}x{kw}", **gemm, "digital_ops": col2im}


def _linear(m: nn.Linear, x: Shape, y: Shape) -> dict[str, Any]:
    gemm = {
        "groups": 1,
        "gemm_n": m.out_features,
        "gemm_d": m.in_features,
        "gemm_m": math.prod(x) // m.in_features,
    }
    return {"op": "linear", **gemm, "digital_ops": math.prod(y) if m.bias is not None else 0}


GemmBuilder = Callable[[Any, Shape, Shape], dict[str, Any]]
GEMM_BUILDERS: dict[type[nn.Module], GemmBuilder] = {
    nn.Conv2d: _conv,
    nn.ConvTranspose2d: _deconv,
    nn.Linear: _linear,
}
GEMM_MODULES = tuple(GEMM_BUILDERS)


class _LeafTracer(fx.Tracer):
    """Stops at every GEMM module, subclasses (noisy photonic layers) included."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, GEMM_MODULES) or super().is_leaf_module(m, module_qualified_name)


def extract_layers(model: nn.Module, input_shape: tuple[int, int, int, int]) -> list[LayerSpec]:
    """Trace ``model`` at ``input_shape`` (N x C x H x W) into one LayerSpec per executed op."""
    if len(input_shape) != 4 or any(not isinstance(s, int) or s < 1 for s in input_shape):
        raise ExtractionError(f"input_shape={input_shape!r}: expected 4 positive ints N,C,H,W")
    tracer = _LeafTracer()
    if tracer.is_leaf_module(model, ""):
        model = nn.Sequential(model)  # fx traces into the root, so give a lone leaf a parent
    try:
        graph = fx.GraphModule(model, tracer.trace(model))
    except Exception as err:  # torch.fx raises many types; report the first line
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ExtractionError(
            f"cannot trace {type(model).__name__} with torch.fx: {first}"
        ) from err
    _propagate_shapes(model, graph, input_shape)
    return _Extraction(graph).run()


def _propagate_shapes(model: nn.Module, graph: fx.GraphModule, shape: tuple[int, ...]) -> None:
    """Run the graph once in eval mode so every node carries its output shape."""
    modes = {m: m.training for m in model.modules()}
    param = next(model.parameters(), None)
    example = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    example = example.to(param.device) if param is not None else example
    graph.eval()
    try:
        with torch.no_grad():
            _ShapeProp(graph).propagate(example)
    finally:
        for module, training in modes.items():
            module.training = training


class _ShapeProp(ShapeProp):
    """ShapeProp that also notes whether a node handed back one of its inputs unchanged."""

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        n.meta[RETURNS_INPUT] = any(result is v for v in (*args, *kwargs.values()))
        return result


def _is_opaque(target: Any) -> bool:
    """A function outside torch and the operator module: one wrapped with ``torch.fx.wrap``."""
    module = getattr(target, "__module__", None) or ""
    return callable(target) and not module.startswith(("torch", "_operator", "builtins"))


def _shape(node: fx.Node) -> Shape | None:
    meta = node.meta.get("tensor_meta")
    return tuple(int(s) for s in meta.shape) if isinstance(meta, TensorMetadata) else None


def _lookup(table: dict[type[nn.Module], Any], module: nn.Module) -> Any:
    return next((table[c] for c in type(module).__mro__ if c in table), None)


class _Extraction:
    """One walk over the traced graph, turning call nodes into LayerSpecs."""

    def __init__(self, graph: fx.GraphModule) -> None:
        self.graph = graph
        self.specs: list[LayerSpec] = []
        self.producer: dict[fx.Node, int] = {}  # node -> index of the spec that made its data
        self.calls: Counter[str] = Counter()

    def run(self) -> list[LayerSpec]:
        for node in self.graph.graph.nodes:
            if node.op in CALLS:
                self._visit(node)
        self._attach_io()
        return self.specs

    def _visit(self, node: fx.Node) -> None:
        module = self.graph.get_submodule(str(node.target)) if node.op == "call_module" else None
        if self._is_alias(node, module):
            sources = [self.producer[a] for a in node.all_input_nodes if a in self.producer]
            if sources:
                self.producer[node] = sources[0]
            return
        if module is None and node.target in GEMM_FUNCTIONS:
            raise ExtractionError(
                f"{node.name}: {node.target} is a GEMM written as a function; "
                "use nn.Conv2d / nn.Linear modules so it maps onto the array"
            )
        out = _shape(node)
        if out is None:
            return  # sizes, tuples and other non-tensor values
        ins = tuple(s for s in map(_shape, _leaves((node.args, node.kwargs))) if s is not None)
        path = str(node.target) if module is not None else node.name
        fields = self._work(node, module, ins, out)
        self.producer[node] = len(self.specs)
        self.specs.append(
            LayerSpec(
                node.name, path, in_shapes=ins, out_shape=out, **fields, call_index=self.calls[path]
            )
        )
        self.calls[path] += 1

    @staticmethod
    def _is_alias(node: fx.Node, module: nn.Module | None) -> bool:
        """Shape-only ops, and wrapped user functions that return their input (checks)."""
        if module is not None:
            return isinstance(module, ALIAS_MODULES)
        passthrough = _is_opaque(node.target) and node.meta.get(RETURNS_INPUT, False)
        return passthrough or node.target in ALIAS_FUNCTIONS

    def _work(
        self, node: fx.Node, module: nn.Module | None, ins: tuple[Shape, ...], out: Shape
    ) -> dict[str, Any]:
        """The LayerSpec fields describing what the op computes: a GEMM or digital work."""
        params = sum(p.numel() for p in module.parameters()) if module is not None else 0
        if module is not None and (builder := _lookup(GEMM_BUILDERS, module)):
            gemm = builder(module, ins[0], out)
            macs = gemm["groups"] * gemm["gemm_n"] * gemm["gemm_d"] * gemm["gemm_m"]
            return {**gemm, "macs": macs, "params": params}
        if module is not None:
            rule = module_rule(module) or elementwise_rule(type(module).__name__)
        else:
            name = getattr(node.target, "__name__", str(node.target))
            rule = FUNCTION_RULES.get(node.target) or elementwise_rule(name)
        site = OpSite(sum(map(math.prod, ins)), math.prod(out), module, node.args, node.kwargs)
        label = rule.describe(site)
        if rule.foldable and self._fed_by_gemm_alone(node):
            return {"op": f"{label}-folded", "digital_ops": 0, "params": params}
        return {"op": label, "digital_ops": rule.ops(site), "params": params}

    def _fed_by_gemm_alone(self, node: fx.Node) -> bool:
        """True when the op's input comes straight from a GEMM that feeds nothing else."""
        source = node.args[0] if node.args else None
        if not isinstance(source, fx.Node) or source not in self.producer:
            return False
        spec = self.specs[self.producer[source]]
        return spec.is_gemm and spec.name == source.name and len(source.users) == 1

    def _attach_io(self) -> None:
        """Charge the network input to the first layer and each output to its producer."""
        moved: Counter[int] = Counter()
        for node in self.graph.graph.nodes:
            shape = _shape(node)
            if node.op == "placeholder" and shape is not None and self.specs:
                moved[0] += math.prod(shape)
            if node.op == "output":
                for out in _leaves(node.args):
                    if out in self.producer and (out_shape := _shape(out)) is not None:
                        moved[self.producer[out]] += math.prod(out_shape)
        for index, elems in moved.items():
            spec = self.specs[index]
            self.specs[index] = dataclasses.replace(spec, io_elems=spec.io_elems + elems)


def _leaves(args: Any) -> list[fx.Node]:
    """Every node inside ``args``, repeats kept (``torch.cat([y, y])`` reads y twice)."""
    found: list[fx.Node] = []
    fx.node.map_arg(args, found.append)
    return found
