"""What the cost model knows about a network: one :class:`LayerSpec` per executed operation.

A GEMM layer (convolution, linear) is described by its im2col shape (docs/photonic-model.md §1):
``groups`` independent GEMMs Y = W X with W of ``gemm_n x gemm_d`` (output channels x reduction)
and X of ``gemm_d x gemm_m`` (reduction x pixels), so ``macs = groups * n * d * m``. Every other
operation is digital, costed by ``digital_ops``. A product of two activations (attention's
Q K^T and A V) is a GEMM whose row operand is ``dynamic``: no parameters, and a weight-stationary
core must program it on every call. A module called several times (a weight-shared
block in a loop) gives one spec per call with the same ``module`` path and rising
``call_index``: compute counts per call, parameters and weight storage once.

:class:`LayerTable` turns a layer list into numpy columns once, so many hardware configurations
can be costed against the same network without touching python objects again.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from .errors import ExtractionError

Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """One executed operation: shapes, work and how it maps to a GEMM (``groups`` 0: digital)."""

    name: str  # unique per call (the graph node)
    module: str  # module path, shared by every call of a weight-shared module
    op: str  # short label: conv3x3, dwconv3x3, linear, relu, add, upsample-bilinear, ...
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    macs: int = 0
    params: int = 0
    digital_ops: int = 0  # configuration-independent digital work (activations, adds, bias)
    groups: int = 0
    gemm_n: int = 0
    gemm_d: int = 0
    gemm_m: int = 0
    call_index: int = 0
    io_elems: int = 0  # values this op moves to or from DRAM (network input and output)
    dynamic: bool = False  # the row operand is an activation, not a parameter

    def __post_init__(self) -> None:
        if self.macs != self.groups * self.gemm_n * self.gemm_d * self.gemm_m:
            raise ExtractionError(f"{self.name}: macs={self.macs} != groups*n*d*m")

    @property
    def is_gemm(self) -> bool:
        """True when the layer runs on the photonic array."""
        return self.groups > 0

    @property
    def in_elems(self) -> int:
        """Values read by the op (all tensor inputs)."""
        return sum(math.prod(shape) for shape in self.in_shapes)

    @property
    def out_elems(self) -> int:
        """Values written by the op."""
        return math.prod(self.out_shape)


_COLUMNS = ("groups", "gemm_n", "gemm_d", "gemm_m", "macs", "params", "digital_ops", "io_elems")


def _row(spec: LayerSpec) -> tuple[float, ...]:
    return (*(getattr(spec, name) for name in _COLUMNS), spec.in_elems, spec.out_elems)


class LayerTable(Sequence[LayerSpec]):
    """A layer list plus its numpy columns and weight-residency windows, built once."""

    def __init__(self, layers: Sequence[LayerSpec]) -> None:
        if not layers:
            raise ExtractionError("no layers to cost: the network executed no operation")
        self.layers: tuple[LayerSpec, ...] = tuple(layers)
        columns = np.array([_row(spec) for spec in self.layers], float).T
        self.groups, self.n, self.d, self.m = columns[:4]
        self.macs, self.params, self.digital_ops, self.io_elems = columns[4:8]
        self.in_elems, self.out_elems = columns[8:]
        self.gemm = self.groups > 0
        self.first_call = np.array([s.call_index == 0 for s in self.layers])
        self.dynamic = np.array([s.dynamic for s in self.layers])
        self.window = _residency_windows(self.layers, self.gemm)
        self.batch = self.layers[0].in_shapes[0][0] if self.layers[0].in_shapes else 1

    @classmethod
    def of(cls, layers: Sequence[LayerSpec]) -> LayerTable:
        """``layers`` as a table: itself if it is one, else built once per list of specs.

        Recent tables are remembered by the identities of their specs: a cached table keeps
        its specs alive, so their ids cannot be reused while the entry exists, and specs are
        immutable, so the same ids always mean the same network (and hashing ids is cheap).
        """
        if isinstance(layers, LayerTable):
            return layers
        key = tuple(map(id, layers))
        table = _RECENT.get(key)
        if table is None:
            table = _RECENT[key] = cls(layers)
            if len(_RECENT) > _RECENT_SIZE:
                _RECENT.popitem(last=False)
        return table

    def __len__(self) -> int:
        return len(self.layers)

    @overload
    def __getitem__(self, index: int) -> LayerSpec: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[LayerSpec]: ...
    def __getitem__(self, index: int | slice) -> LayerSpec | Sequence[LayerSpec]:
        return self.layers[index]

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self.layers)


_RECENT: OrderedDict[tuple[int, ...], LayerTable] = OrderedDict()
_RECENT_SIZE = 16


def _residency_windows(layers: Sequence[LayerSpec], gemm: np.ndarray) -> np.ndarray:
    """0/1 matrix: row i marks the modules whose weights run between two calls of layer i's.

    In steady-state streaming the schedule repeats every inference, so the window of a layer
    reaches back (cyclically) to the previous call of the same module: the whole inference for a
    module called once, one iteration for a weight-shared block. Columns are the first call of
    each module, so a module counts once however often it runs inside the window. Weights stay
    programmed across the window iff the tiles of the marked modules fit into the cores at once.
    """
    size = len(layers)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    prev = np.arange(size)  # previous call of the same module, cyclically (itself if only one)
    for i, spec in enumerate(layers):
        first.setdefault(spec.module, i)
        if spec.module in last:
            prev[i] = last[spec.module]
        last[spec.module] = i
    for module, i in first.items():
        prev[i] = last[module]
    position = np.arange(size)
    span = (position - prev - 1) % size + 1  # window length: (prev, i] cyclically
    offset = (position[None, :] - prev[:, None] - 1) % size  # steps from prev+1 to each position
    inside = (offset < span[:, None]) & gemm[:, None] & gemm[None, :]
    owner = np.array([first[s.module] for s in layers])  # position -> its module's first call
    order = np.argsort(owner, kind="stable")
    starts = np.flatnonzero(np.diff(owner[order], prepend=-1))
    window = np.zeros((size, size))
    window[:, owner[order][starts]] = np.logical_or.reduceat(inside[:, order], starts, axis=1)
    return window
