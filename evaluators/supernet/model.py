"""`Supernet`: the weights every design of a space shares, and the designs built from them.

The supernet holds, per stage, one block of every type the stage can take, at the space's
largest width, expansion and kernel (its ``capacity``), plus one stem, decoder and head; the
iteration count needs nothing extra since a stage's repeats share one block. A design is
``build_network(params)`` whose tensors are slices of these (see :mod:`.slicing`):

- training (:meth:`Supernet.select`, then ``forward``) runs the designs' networks through
  ``torch.func.functional_call`` with slice *views*, so gradients land in the shared weights and
  nothing is copied; the networks themselves are empty scaffolds on the meta device, cheap to
  build. Several designs can be selected at once: each takes its share of the batch, so one
  optimizer step sums the gradients of all of them (the sandwich rule of BigNAS);
- scoring and export (:meth:`Supernet.network`) get an ordinary network holding copies of the
  slices, indistinguishable from the same design built standalone with those weights loaded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call

from evaluators.network import NetworkConfig, SegmentationNet, StageConfig, build_network
from evaluators.noise import NoiseConfig, attach_noise, detach_noise
from evaluators.supernet.errors import SupernetError
from evaluators.supernet.slicing import STAGE_KEY, concat_inputs, slice_like, store_key
from evaluators.supernet.space import SupernetSpace

SCAFFOLDS_KEPT = 64  # meta networks kept for reuse: training revisits popular designs


class TensorStore(nn.Module):
    """Named tensors (parameters train, buffers do not) under dotted names ('.' cannot be a
    module attribute name, so they are registered with '/' instead)."""

    def __init__(self, tensors: Mapping[str, Tensor], parameters: set[str]) -> None:
        super().__init__()
        for name, tensor in tensors.items():
            if name in parameters:
                self.register_parameter(_escape(name), nn.Parameter(tensor.detach().clone()))
            else:
                self.register_buffer(_escape(name), tensor.detach().clone())

    def get(self, name: str) -> Tensor:
        tensor = getattr(self, _escape(name), None)
        if not isinstance(tensor, Tensor):
            raise SupernetError(f"the supernet has no tensor {name!r}")
        return tensor

    def tensors(self) -> dict[str, Tensor]:
        """Every tensor by dotted name (detached, as stored)."""
        return {name.replace("/", "."): t.detach() for name, t in self.state_dict().items()}

    @torch.no_grad()
    def load(self, tensors: Mapping[str, Tensor]) -> None:
        """Copy in a full set of tensors of the same names and shapes."""
        mine = self.tensors()
        if set(mine) != set(tensors):
            odd = sorted(set(mine) ^ set(tensors))[0]
            raise SupernetError(f"stored tensors do not match this supernet (at {odd!r})")
        for name, tensor in tensors.items():
            if mine[name].shape != tensor.shape:
                raise SupernetError(f"stored tensor {name!r} has shape {tuple(tensor.shape)}")
            self.get(name).copy_(tensor)


def _escape(name: str) -> str:
    return name.replace(".", "/")


@dataclass(frozen=True)
class _Selected:
    """The designs ``forward`` runs (held in a plain object, so they are no submodules)."""

    scaffolds: tuple[SegmentationNet, ...]


class Supernet(nn.Module):
    """Shared weights of every design of a :class:`SupernetSpace` (see module doc)."""

    def __init__(self, space: SupernetSpace, num_classes: int, *, seed: int = 0) -> None:
        super().__init__()
        self.space = space
        self.num_classes = num_classes
        self.capacity = space.capacity
        tensors, parameters, self._parts = _initial_tensors(space, num_classes, seed)
        self.store = TensorStore(tensors, parameters)
        # Plain containers, not submodules: scaffolds hold meta tensors, which .to() cannot move.
        self._scaffolds: OrderedDict[NetworkConfig, SegmentationNet] = OrderedDict()
        self._selected: _Selected = _Selected(())

    # -- one design's tensors ---------------------------------------------------------------

    def weights(self, params: Mapping[str, Any]) -> dict[str, Tensor]:
        """Every state-dict entry of the design's network, as slices (views) of the supernet."""
        return self._weights_of(self._scaffold(params))

    def network(self, params: Mapping[str, Any]) -> SegmentationNet:
        """The design as an ordinary network (eval mode) holding copies of its slices."""
        with torch.device("meta"):
            network = build_network(params, self.num_classes)
        copies = {k: v.detach().clone() for k, v in self.weights(params).items()}
        network.load_state_dict(copies, assign=True)
        return network.eval()

    # -- training: one design at a time -----------------------------------------------------

    def select(
        self,
        *designs: Mapping[str, Any],
        noise: NoiseConfig | None = None,
        chip_seed: int = 0,
        noise_seed: int = 0,
    ) -> None:
        """Make ``forward`` run these designs (none: nothing), on a simulated chip if ``noise``."""
        for scaffold in self._selected.scaffolds:
            detach_noise(scaffold)
        self._selected = _Selected(tuple(self._scaffold(params) for params in designs))
        for scaffold in self._selected.scaffolds if noise is not None else ():
            attach_noise(scaffold, noise, chip_seed=chip_seed, noise_seed=noise_seed)

    def forward(self, images: Tensor) -> Tensor:
        """Logits of the selected designs, each on its consecutive share of the batch, with
        weights that are views of the supernet's."""
        scaffolds = self._selected.scaffolds
        if not scaffolds:
            raise SupernetError("no design selected: call select(params) before forward")
        logits = []
        for scaffold, part in zip(scaffolds, images.tensor_split(len(scaffolds)), strict=True):
            if part.shape[0]:
                scaffold.train(self.training)
                logits.append(functional_call(scaffold, self._weights_of(scaffold), part))
        return torch.cat(logits)

    def forward_each(self, images: Tensor) -> list[Tensor]:
        """Logits of every selected design on the whole batch (in-place distillation)."""
        scaffolds = self._selected.scaffolds
        if not scaffolds:
            raise SupernetError("no design selected: call select(params) before forward")
        for scaffold in scaffolds:
            scaffold.train(self.training)
        return [functional_call(s, self._weights_of(s), images) for s in scaffolds]

    # -- pieces -----------------------------------------------------------------------------

    def _scaffold(self, params: Mapping[str, Any]) -> SegmentationNet:
        """The design's network on the meta device (structure and shapes, no data), cached."""
        config = NetworkConfig.from_params(params)
        self.space.check(config)
        scaffold = self._scaffolds.pop(config, None)
        if scaffold is None:
            with torch.device("meta"):
                scaffold = build_network(config.to_params(), self.num_classes)
        self._scaffolds[config] = scaffold
        while len(self._scaffolds) > SCAFFOLDS_KEPT:
            self._scaffolds.popitem(last=False)
        return scaffold

    def _weights_of(self, scaffold: SegmentationNet) -> dict[str, Tensor]:
        parts = concat_inputs(scaffold)
        weights = {}
        for key, meta in scaffold.state_dict().items():
            name = store_key(key, scaffold.config, self.capacity)
            split = (parts[key], self._parts[name]) if key in parts else None
            weights[key] = slice_like(self.store.get(name), meta.shape, split)
        return weights


def _initial_tensors(
    space: SupernetSpace, num_classes: int, seed: int
) -> tuple[dict[str, Tensor], set[str], dict[str, tuple[int, ...]]]:
    """Initial supernet tensors, which of them are parameters, and the decoder's input parts.

    One network at capacity per block type gives that type's stage blocks (only for stages that
    can take it); the shared stem, decoder and heads come from the first, so every tensor starts
    from the network family's own initialisation.
    """
    capacity = space.capacity
    tensors: dict[str, Tensor] = {}
    parameters: set[str] = set()
    parts: dict[str, tuple[int, ...]] = {}
    for block in sorted({b for blocks in space.stage_blocks for b in blocks}):
        config = replace(capacity, stages=tuple(StageConfig(block) for _ in capacity.stages))
        network = build_network(config.to_params(), num_classes, seed=seed)
        parts.update(concat_inputs(network))
        owned = {name for name, _ in network.named_parameters()}
        for key, tensor in network.state_dict().items():
            stage = STAGE_KEY.fullmatch(key)
            if stage and block not in space.stage_blocks[int(stage[1])]:
                continue
            name = store_key(key, config, capacity)
            if name not in tensors:
                tensors[name] = tensor
                if key in owned:
                    parameters.add(name)
    return tensors, parameters, parts
