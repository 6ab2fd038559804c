"""Layer extraction from the real torch network: torch.fx symbolic trace + shape propagation.

The traced graph is the single source of truth; nothing describes the network a second time.
Any module and any input works: an input shape (random values), an example tensor (token ids)
or a tuple of example tensors. Every ``nn.Conv1d/2d/3d``, ``nn.ConvTranspose*`` and ``nn.Linear``
subclass (the noisy photonic layers included) stays a leaf and becomes a GEMM
(docs/photonic-model.md §1, im2col)::

    conv:   groups g, N = C_out/g, D = (C_in/g)*prod(kernel), M = B*prod(output size)
    deconv: groups g, N = (C_out/g)*prod(kernel), D = C_in/g, M = B*prod(input size) (+ col2im)
    linear: groups 1, N = out_features, D = in_features, M = elements / in_features

so MACs = g*N*D*M. Products of activations (``matmul``, ``@``, ``bmm``) and attention
(``nn.MultiheadAttention``, ``F.scaled_dot_product_attention``, ``nn.TransformerEncoder[Layer]``)
are GEMMs too (:mod:`.attention`). Functional ops (``F.relu``, ``+``, ``torch.cat``,
``F.interpolate``, ...) and other leaf modules become digital layers costed by :mod:`.ops`; a
leaf module holding a weight matrix that none of these rules knows (an LSTM, say) is an error,
never silently digital. A module called several times keeps its module path in every call's
``LayerSpec.module`` with a rising ``call_index``: that is how weight-shared iterations are
recognised. ``io_elems`` marks the network input (on the first layer) and output (on the layers
producing it), which travel to and from DRAM.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from .attention import (
    Part,
    attention,
    encoder,
    encoder_layer,
    multihead_attention,
    parameter_product,
    product,
)
from .errors import ExtractionError
from .layers import LayerSpec, Shape
from .ops import (
    ALIAS_FUNCTIONS,
    ALIAS_MODULES,
    ATTENTION_FUNCTIONS,
    FUNCTION_RULES,
    PRODUCT_FUNCTIONS,
    REJECTED_FUNCTIONS,
    OpSite,
    elementwise_rule,
    module_rule,
)

Example = torch.Tensor | Sequence[int] | Sequence[torch.Tensor]
CALLS = ("call_module", "call_function", "call_method")
RETURNS_INPUT = "hardware_returns_input"  # node.meta key set during shape propagation


def _conv_label(m: nn.modules.conv._ConvNd) -> str:
    kernel = "x".join(map(str, m.kernel_size))
    depthwise = m.groups == m.in_channels > 1
    kind = "dwconv" if depthwise else "gconv" if m.groups > 1 else "conv"
    groups = f"/g{m.groups}" if kind == "gconv" else ""
    stride = f"/s{m.stride[0]}" if any(s != 1 for s in m.stride) else ""
    return f"{kind}{kernel}{groups}{stride}"


def _conv(m: nn.modules.conv._ConvNd, x: Shape, y: Shape) -> Part:
    g = m.groups
    return Part(
        _conv_label(m),
        (x,),
        y,
        groups=g,
        gemm_n=m.out_channels // g,
        gemm_d=m.in_channels // g * math.prod(m.kernel_size),
        gemm_m=y[0] * math.prod(y[2:]),
        digital_ops=math.prod(y) if m.bias is not None else 0,
    )


def _deconv(m: nn.modules.conv._ConvTransposeNd, x: Shape, y: Shape) -> Part:
    g, kernel = m.groups, math.prod(m.kernel_size)
    n, columns = m.out_channels // g * kernel, x[0] * math.prod(x[2:])
    col2im = g * n * columns + (math.prod(y) if m.bias is not None else 0)  # overlap-add, bias
    label = "deconv" + "x".join(map(str, m.kernel_size))
    return Part(
        label, (x,), y, groups=g, gemm_n=n, gemm_d=m.in_channels // g, gemm_m=columns,
        digital_ops=col2im,
    )  # fmt: skip


def _linear(m: nn.Linear, x: Shape, y: Shape) -> Part:
    tokens = math.prod(x) // m.in_features
    return Part(
        "linear", (x,), y, groups=1, gemm_n=m.out_features, gemm_d=m.in_features,
        gemm_m=tokens, digital_ops=math.prod(y) if m.bias is not None else 0,
    )  # fmt: skip


GemmBuilder = Callable[[Any, Shape, Shape], Part]
GEMM_BUILDERS: dict[type[nn.Module], GemmBuilder] = {
    nn.modules.conv._ConvTransposeNd: _deconv,
    nn.modules.conv._ConvNd: _conv,
    nn.Linear: _linear,
}
COMPOSITE_MODULES: tuple[type[nn.Module], ...] = (
    nn.MultiheadAttention,
    nn.TransformerEncoderLayer,
    nn.TransformerEncoder,
)
LEAVES = (*GEMM_BUILDERS, *COMPOSITE_MODULES)


class _LeafTracer(fx.Tracer):
    """Stops at every GEMM module (noisy photonic subclasses included) and attention module."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, LEAVES) or super().is_leaf_module(m, module_qualified_name)


def extract_layers(model: nn.Module, example: Example) -> list[LayerSpec]:
    """Trace ``model`` on ``example`` (a shape, a tensor or a tuple of tensors) into one
    LayerSpec per executed op."""
    inputs = _examples(example)
    name = type(model).__name__
    tracer = _LeafTracer()
    if tracer.is_leaf_module(model, ""):
        model = nn.Sequential(model)  # fx traces into the root, so give a lone leaf a parent
    try:
        graph = fx.GraphModule(model, tracer.trace(model))
    except Exception as err:  # torch.fx raises many types; report the first line
        raise ExtractionError(f"cannot trace {name} with torch.fx: {_first_line(err)}") from err
    try:
        _propagate_shapes(model, graph, inputs)
    except Exception as err:  # ShapeProp wraps the model's own error: report that one
        cause = err.__cause__ or err
        raise ExtractionError(f"{name} fails on the example input: {_first_line(cause)}") from err
    return _Extraction(graph).run()


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _examples(example: Example) -> tuple[torch.Tensor, ...]:
    """The example inputs: the tensor(s) given, or uniform random values of the shape given."""
    if isinstance(example, torch.Tensor):
        return (example,)
    items = tuple(example)
    if items and all(isinstance(t, torch.Tensor) for t in items):
        return items  # type: ignore[return-value]
    if not items or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in items):
        raise ExtractionError(
            f"input={example!r}: expected a shape of positive ints, a tensor or a tuple of tensors"
        )
    generator = torch.Generator().manual_seed(0)
    return (torch.rand(items, generator=generator),)  # type: ignore[arg-type]


def _propagate_shapes(
    model: nn.Module, graph: fx.GraphModule, inputs: tuple[torch.Tensor, ...]
) -> None:
    """Run the graph once in eval mode so every node carries its output shape."""
    modes = {m: m.training for m in model.modules()}
    param = next(model.parameters(), None)
    if param is not None:
        inputs = tuple(t.to(param.device) for t in inputs)
    graph.eval()
    try:
        with torch.no_grad():
            _ShapeProp(graph).propagate(*inputs)
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


def _shape(node: Any) -> Shape | None:
    meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
    return tuple(int(s) for s in meta.shape) if isinstance(meta, TensorMetadata) else None


def _lookup(table: dict[type[nn.Module], Any], module: nn.Module) -> Any:
    return next((table[c] for c in type(module).__mro__ if c in table), None)


def _weight_matrices(module: nn.Module) -> bool:
    """Whether a module holds a parameter of two or more dims (a GEMM the rules do not know)."""
    return any(p.dim() >= 2 for p in module.parameters())


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
        if module is None and node.target in REJECTED_FUNCTIONS:
            raise ExtractionError(
                f"{node.name}: {getattr(node.target, '__name__', node.target)} is not mapped; "
                "use nn.Conv / nn.Linear modules or matmul so the array sees its shapes"
            )
        ins = tuple(s for s in map(_shape, _leaves((node.args, node.kwargs))) if s is not None)
        parts = self._parts(node, module, ins)
        if not parts:
            return  # sizes, tuples and other non-tensor values
        path = str(node.target) if module is not None else node.name
        params = sum(p.numel() for p in module.parameters()) if module is not None else 0
        for part in parts:
            where = path if part.suffix is None else f"{path}.{part.suffix}"
            name = node.name if part.suffix is None else f"{node.name}.{part.suffix}"
            self.specs.append(
                LayerSpec(
                    name,
                    where,
                    op=part.op,
                    in_shapes=part.ins,
                    out_shape=part.out,
                    macs=part.macs,
                    params=params if module is not None and part.suffix is None else part.params,
                    digital_ops=part.digital_ops,
                    groups=part.groups,
                    gemm_n=part.gemm_n,
                    gemm_d=part.gemm_d,
                    gemm_m=part.gemm_m,
                    call_index=self.calls[where],
                    dynamic=part.dynamic,
                )
            )
            self.calls[where] += 1
        self.producer[node] = len(self.specs) - 1

    @staticmethod
    def _is_alias(node: fx.Node, module: nn.Module | None) -> bool:
        """Shape-only ops, and wrapped user functions that return their input (checks)."""
        if module is not None:
            return isinstance(module, ALIAS_MODULES)
        passthrough = _is_opaque(node.target) and node.meta.get(RETURNS_INPUT, False)
        return passthrough or node.target in ALIAS_FUNCTIONS

    def _parts(self, node: fx.Node, module: nn.Module | None, ins: tuple[Shape, ...]) -> list[Part]:
        """What the node computes: GEMMs and digital work (none for non-tensor values)."""
        out = _shape(node)
        if isinstance(module, nn.MultiheadAttention):
            return multihead_attention(module, ins)
        if isinstance(module, nn.TransformerEncoderLayer):
            return encoder_layer(module, ins[0])
        if isinstance(module, nn.TransformerEncoder):
            return encoder(module, ins[0])
        if module is None and node.target in ATTENTION_FUNCTIONS:
            return attention(ins[0], ins[1], ins[2])
        builder = _lookup(GEMM_BUILDERS, module) if module is not None else None
        known = module is None or builder is not None or module_rule(module) is not None
        if not known and module is not None and _weight_matrices(module):
            raise ExtractionError(
                f"{node.name}: {type(module).__name__} holds weight matrices the hardware "
                "model cannot map; write it with nn.Linear / nn.Conv modules or matmul"
            )
        if out is None:
            return []
        if module is not None and builder is not None:
            return [builder(module, ins[0], out)]
        if module is None and node.target in PRODUCT_FUNCTIONS:
            return [self._product(node, ins, out)]
        return [self._digital(node, module, ins, out)]

    @staticmethod
    def _product(node: fx.Node, ins: tuple[Shape, ...], out: Shape) -> Part:
        """matmul / @ / bmm / F.linear: a parameter operand goes on the rows, else A does."""
        operands = [a for a in node.args[:3] if isinstance(a, fx.Node)]
        held = [a for a in operands if a.op == "get_attr"]
        if not held:
            return product(ins[0], ins[1])
        params = sum(math.prod(s) for a in held if (s := _shape(a)) is not None)
        x = next(s for a in operands if a.op != "get_attr" and (s := _shape(a)) is not None)
        weight = _shape(held[0]) or ()
        if node.target is torch.nn.functional.linear or operands[0] is held[0]:
            weight = tuple(reversed(weight))  # an (N, D) weight as the (D, N) of x @ W
        return parameter_product(x, weight, params, bias=len(held) > 1)

    def _digital(
        self, node: fx.Node, module: nn.Module | None, ins: tuple[Shape, ...], out: Shape
    ) -> Part:
        """A digital layer: the rule of the module or function, else one op per output."""
        params = sum(p.numel() for p in module.parameters()) if module is not None else 0
        if module is not None:
            rule = module_rule(module) or elementwise_rule(type(module).__name__)
        else:
            name = getattr(node.target, "__name__", str(node.target))
            rule = FUNCTION_RULES.get(node.target) or elementwise_rule(name)
        site = OpSite(sum(map(math.prod, ins)), math.prod(out), module, node.args, node.kwargs)
        label = rule.describe(site)
        if rule.foldable and self._fed_by_gemm_alone(node):
            return Part(f"{label}-folded", ins, out, params=params)
        return Part(label, ins, out, digital_ops=rule.ops(site), params=params)

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
