"""Conv2d, ConvTranspose2d and Linear that run on the photonic tile model when a noise state is
attached.

Without a state they are their parents, call for call (float training, jit tracing, the cost
model's fx tracing). With one, the layer becomes the GEMM of docs/photonic-model.md §1 and runs
through :mod:`.tiling` in chunks of output columns, so that intermediates stay cache-sized.

Noise-aware training differentiates the tile itself (straight-through rounding, clipped
gradients at the converters, docs/photonic-model.md §6.1) as long as its partial sums fit in memory:
autograd keeps each of them for the backward pass, nb = ⌈D/(N_λ·T)⌉ per output, so a wide layer
on a 1-wavelength chip would hold tens of GB for one small batch (the corner a supernet's
noise-aware training visits). Above ``GRAPH_CONVERSIONS`` partial sums a layer instead runs the
tile without autograd, in place, and takes the float layer's gradient at the same input: a
straight-through estimator over the whole tile, which also passes gradient through ADC clipping.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from .native import native_tile, native_tile_fits, tile_kernel
from .state import NoiseState, cached
from .tiling import WeightTiles, needs_graph, prepare_weights, tile_matmul

__all__ = [
    "PHOTONIC_ATTRIBUTES",
    "PhotonicConv2d",
    "PhotonicConvTranspose2d",
    "PhotonicLayer",
    "PhotonicLinear",
]

_CACHE_ATTRIBUTE = "_noise_cache"
PHOTONIC_ATTRIBUTES = ("noise_state", _CACHE_ATTRIBUTE)
"""Instance attributes a photonic layer may hold (plain Python attributes: not in state_dict)."""

GRAPH_CONVERSIONS = 1 << 24
"""Partial sums (ADC conversions) of one layer call above which training does not differentiate
the tile (see the module doc): autograd keeps ~5 float32 tensors of that size, ~320 MB."""

_CHUNK_ELEMENTS = 1 << 20
"""Target size of the per-chunk intermediates (4 MiB in float32, measured on CamVid networks:
4x smaller chunks lose more to narrow matrix products than they gain in cache, 4x larger
ones spill)."""

_PAD_MODES = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}
"""Conv2d padding_mode -> F.pad mode."""


def _gather(source: torch.Tensor, reduction_dims: int, padded: int) -> torch.Tensor:
    """Copy (B, g, *reduction, *columns) into a zero-padded (g, padded, B·columns) block buffer.

    One strided copy replaces F.unfold plus F.pad (both slower on the CPU, and each a full copy),
    and puts the images side by side so that each block is one wide matrix product.
    """
    batch, groups = source.shape[:2]
    reduction = source.shape[2 : 2 + reduction_dims]
    columns = source.shape[2 + reduction_dims :]
    fan_in, width = math.prod(reduction), math.prod(columns)
    out = source.new_empty(groups, padded, batch, width)
    image_axis = 1 + reduction_dims  # (g, *reduction, B, *columns)
    out[:, :fan_in].view(groups, *reduction, batch, *columns).copy_(source.movedim(0, image_axis))
    out[:, fan_in:].zero_()
    return out.view(groups, padded, batch * width)


def _chunking(tiles: WeightTiles, batch: int, lines: int, line_width: int) -> tuple[int, int]:
    """(images, lines) per chunk so that input blocks and block sums hold ~_CHUNK_ELEMENTS:
    several whole images when they fit, else a few lines of one image."""
    groups, blocks, rows, n = tiles.analog.shape
    per_line = groups * blocks * max(rows, n) * line_width  # one line of one image
    lines_step = max(1, min(lines, _CHUNK_ELEMENTS // per_line))
    if lines_step < lines:
        return 1, lines_step
    return max(1, min(batch, _CHUNK_ELEMENTS // (per_line * lines))), lines


def _chunks(
    batch: int, lines: int, images_step: int, lines_step: int
) -> Iterator[tuple[slice, slice]]:
    """(images, lines) index ranges of the chunks, in order."""
    for first in range(0, batch, images_step):
        for start in range(0, lines, lines_step):
            yield (
                slice(first, min(first + images_step, batch)),
                slice(start, min(start + lines_step, lines)),
            )


def signed_input(input: torch.Tensor) -> bool:
    """Whether a layer's input needs signed DACs: any negative value. A non-negative input (after
    a ReLU, or an image) is encoded on the unsigned range, twice the levels (LT's ``QuantAct``
    picks its range the same way, from whether the activations go below zero)."""
    return bool(input.detach().amin() < 0) if input.numel() else True


class PhotonicLayer(nn.Module):
    """Mixin for layers that can take a :class:`NoiseState`; never part of the state_dict."""

    noise_state: NoiseState | None = None
    weight: torch.Tensor

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        state = self.noise_state
        if state is None:
            return super().forward(input)
        if not needs_graph(input, self.weight):
            return self.photonic_forward(state, input)
        blocks = math.ceil(self.gemm_fan_in() / state.config.fan_in)
        if self.output_elements(input) * blocks <= GRAPH_CONVERSIONS:
            return self.photonic_forward(state, input)  # the tile, differentiated
        with torch.no_grad():
            photonic = self.photonic_forward(state, input)
        exact: torch.Tensor = super().forward(input)
        return exact + (photonic - exact).detach()  # photonic values, float gradients

    def photonic_forward(self, state: NoiseState, input: torch.Tensor) -> torch.Tensor:
        """The layer's output on the tile model (differentiable unless autograd is off)."""
        raise NotImplementedError

    def output_elements(self, input: torch.Tensor) -> int:
        """Elements of the layer's GEMM output for ``input``, without computing it."""
        raise NotImplementedError

    def gemm_fan_in(self) -> int:
        """D: the products each GEMM output sums (before blocking into conversions)."""
        return self.weight[0].numel()  # Conv2d: C_in/g·k², Linear: in_features

    def folds_input_noise(self) -> bool:
        """Whether this call folds the dynamic input noise into the output noise
        (``NoiseConfig.input_noise``): ``auto`` does in eval mode (scoring), not in training."""
        assert self.noise_state is not None
        mode = self.noise_state.config.input_noise
        return mode == "folded" or (mode == "auto" and not self.training)

    def noise_cache(self) -> dict[Hashable, torch.Tensor]:
        """Static tensors of this layer (chip offsets expanded to its shapes), filled lazily."""
        cache: dict[Hashable, torch.Tensor] = self.__dict__.setdefault(_CACHE_ATTRIBUTE, {})
        return cache

    def set_noise_state(self, state: NoiseState | None) -> None:
        """Attach (or with None detach) a state; expanded static errors of the old chip go."""
        for name in PHOTONIC_ATTRIBUTES:
            self.__dict__.pop(name, None)
        if state is not None:
            self.noise_state = state

    def _photonic_gemm(
        self,
        state: NoiseState,
        weight: torch.Tensor,
        source: torch.Tensor,
        reduction_dims: int,
        signed: bool,
    ) -> torch.Tensor:
        """(g, N, D) weights times (B, g, *reduction, lines, *line) columns -> (B, g, N, M).

        Columns are processed a few whole images, or a few lines (image rows, or input rows of a
        Linear) of one image, at a time. ``signed`` False: the input holds no negative value, so
        the input DACs use their unsigned range (:func:`signed_input`).
        """
        tiles = prepare_weights(weight, state, self.noise_cache(), signed, self.folds_input_noise())
        batch = source.shape[0]
        line_dim = 2 + reduction_dims
        lines, line_width = source.shape[line_dim], math.prod(source.shape[line_dim + 1 :])
        offsets = self._input_offsets(state, batch, lines * line_width, source)
        if offsets is not None:
            offsets = offsets.view(*offsets.shape[:2], lines, line_width)
        groups, _, rows, _ = tiles.analog.shape

        def product(images: slice, span: slice) -> torch.Tensor:  # (g, N, images·columns)
            part = source[images].narrow(line_dim, span.start, span.stop - span.start)
            block = _gather(part, reduction_dims, tiles.padded_fan_in)
            chunk_offsets = None
            if offsets is not None:
                live = offsets[: tiles.block_width, images, span]
                chunk_offsets = live.reshape(tiles.block_width, -1)
            return tile_matmul(block, tiles, state, chunk_offsets)

        chunks = list(_chunks(batch, lines, *_chunking(tiles, batch, lines, line_width)))
        kernel = tile_kernel() if native_tile_fits(state, tiles, source, weight) else None
        if kernel is not None:
            return native_tile(kernel, state, tiles, source, reduction_dims, offsets, chunks)
        if needs_graph(source, weight):
            # Chunks are consecutive runs of the (image, line, position) columns: one
            # concatenation assembles them. Writing them into a preallocated output would make
            # the backward pass copy the whole output's gradient once per chunk.
            results = [product(*chunk) for chunk in chunks]
            out = results[0] if len(results) == 1 else torch.cat(results, dim=-1)
        else:
            out = source.new_empty(groups, rows, batch, lines, line_width)
            for images, span in chunks:
                out[:, :, images, span] = product(images, span).view_as(out[:, :, images, span])
        return out.view(groups, rows, batch, -1).permute(2, 0, 1, 3)

    def _input_offsets(
        self, state: NoiseState, batch: int, columns: int, like: torch.Tensor
    ) -> torch.Tensor | None:
        """(n, B, M) static input-encoder offsets, or None when they are switched off."""
        if not state.config.sigma_in_static:
            return None
        key = ("input_offsets", batch, columns, like.device, like.dtype)
        fan_in = state.config.fan_in
        return cached(
            self.noise_cache(),
            key,
            lambda: state.chip.for_inputs(batch, columns, fan_in).transpose(0, 1).to(like),
        )


class PhotonicConv2d(PhotonicLayer, nn.Conv2d):
    """nn.Conv2d whose GEMM (D = C_in/g·k², N = C_out/g, M = B·H_o·W_o) runs on the tile model."""

    def photonic_forward(self, state: NoiseState, input: torch.Tensor) -> torch.Tensor:
        if input.dim() == 3:  # unbatched (C, H, W), as nn.Conv2d accepts
            return self.photonic_forward(state, input.unsqueeze(0)).squeeze(0)
        weight = self.weight.reshape(self.groups, self.out_channels // self.groups, -1)
        patches = self._patches(input)
        batch, _, _, _, height, width = patches.shape
        columns = patches.unflatten(1, (self.groups, -1))
        out = self._photonic_gemm(state, weight, columns, 3, signed_input(input))
        out = out.reshape(batch, self.out_channels, height, width)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)

    def output_elements(self, input: torch.Tensor) -> int:
        left, right, top, bottom = self._reversed_padding_repeated_twice  # width first
        (kh, kw), (dh, dw), (sh, sw) = self.kernel_size, self.dilation, self.stride
        height = (input.shape[-2] + top + bottom - dh * (kh - 1) - 1) // sh + 1
        width = (input.shape[-1] + left + right - dw * (kw - 1) - 1) // sw + 1
        images = input.shape[0] if input.dim() == 4 else 1
        return images * self.out_channels * height * width

    def _patches(self, input: torch.Tensor) -> torch.Tensor:
        """(B, C, kh, kw, H_o, W_o) strided view of the padded input: im2col without copying."""
        pads = self._reversed_padding_repeated_twice
        if any(pads):
            input = F.pad(input, pads, mode=_PAD_MODES[self.padding_mode])
        (kh, kw), (dh, dw), (sh, sw) = self.kernel_size, self.dilation, self.stride
        windows = input.unfold(2, dh * (kh - 1) + 1, sh).unfold(3, dw * (kw - 1) + 1, sw)
        return windows[..., ::dh, ::dw].permute(0, 1, 4, 5, 2, 3)


class PhotonicLinear(PhotonicLayer, nn.Linear):
    """nn.Linear as a GEMM with D = in_features, N = out_features and M = rows of the input."""

    def photonic_forward(self, state: NoiseState, input: torch.Tensor) -> torch.Tensor:
        columns = input.reshape(-1, self.in_features).t()[None, None]
        out = self._photonic_gemm(state, self.weight.unsqueeze(0), columns, 1, signed_input(input))
        out = out[0, 0].t().reshape(*input.shape[:-1], self.out_features)
        return out if self.bias is None else out + self.bias

    def output_elements(self, input: torch.Tensor) -> int:
        return input.numel() // self.in_features * self.out_features


class PhotonicConvTranspose2d(PhotonicLayer, nn.ConvTranspose2d):
    """nn.ConvTranspose2d as the GEMM the cost model maps (``deconv``: N = C_out/g·k²,
    D = C_in/g, M = B·H·W, one column per input pixel), then col2im: the overlap-add of the
    kernel windows into the output is digital, after the converters."""

    def forward(self, input: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if self.noise_state is None:
            return nn.ConvTranspose2d.forward(self, input, output_size)
        if output_size is not None:
            raise ValueError(
                "PhotonicConvTranspose2d: output_size is not simulated; set output_padding"
            )
        return PhotonicLayer.forward(self, input)

    def photonic_forward(self, state: NoiseState, input: torch.Tensor) -> torch.Tensor:
        if input.dim() == 3:  # unbatched (C, H, W), as nn.ConvTranspose2d accepts
            return self.photonic_forward(state, input.unsqueeze(0)).squeeze(0)
        groups, per_group = self.groups, self.in_channels // self.groups
        weight = self.weight.reshape(groups, per_group, -1).transpose(1, 2)
        columns = input.unflatten(1, (groups, per_group))  # (B, g, C_in/g, H, W)
        out = self._photonic_gemm(state, weight, columns, 1, signed_input(input))
        batch, _, height, width = input.shape
        out = F.fold(
            out.reshape(batch, -1, height * width),
            self._output_shape(height, width),
            self.kernel_size,
            dilation=self.dilation,
            padding=cast(tuple[int, int], self.padding),  # never a string on a transposed conv
            stride=self.stride,
        )
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)

    def output_elements(self, input: torch.Tensor) -> int:
        images = input.shape[0] if input.dim() == 4 else 1
        kernel = self.kernel_size[0] * self.kernel_size[1]
        return images * self.out_channels * kernel * input.shape[-2] * input.shape[-1]

    def gemm_fan_in(self) -> int:
        return self.in_channels // self.groups

    def _output_shape(self, height: int, width: int) -> tuple[int, int]:
        """H_out, W_out of nn.ConvTranspose2d: (H−1)·s − 2p + d·(k−1) + output_padding + 1."""
        sizes = []
        for index, size in enumerate((height, width)):
            stride, pad = self.stride[index], cast(tuple[int, int], self.padding)[index]
            dilation, kernel = self.dilation[index], self.kernel_size[index]
            extra = self.output_padding[index]
            sizes.append((size - 1) * stride - 2 * pad + dilation * (kernel - 1) + extra + 1)
        return sizes[0], sizes[1]
