"""The analog GEMM Y = W·X of one layer, block by block (docs/photonic-model.md §6.1).

Shapes: g groups, N output rows, reduction D padded to nb blocks of n = N_λ·T, and L columns per
chunk (the pixels of a few lines of every image in the batch). Weights are prepared once per
forward pass (:func:`prepare_weights`); inputs go through :func:`tile_matmul` one chunk of
columns at a time.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import NoiseConfig
from .quant import levels, quantize_codes, round_ste
from .state import NoiseState, cached

__all__ = ["WeightTiles", "needs_graph", "prepare_weights", "tile_matmul"]

_SCALE_FLOOR = 1e-30
"""Block scale used for all-zero blocks (their codes stay 0); keeps q/s finite in float32."""


@dataclass(frozen=True)
class WeightTiles:
    """One layer's weights as the analog core sees them in one forward pass.

    ``analog`` (g, nb, N, w): quantized, noisy, crosstalk-mixed weights in DAC full-scale units,
    pre-multiplied so that ``analog`` times input codes lands in ADC code units. Blocks are
    w = n wide, except when one block holds the whole reduction (D < n: depthwise and other
    narrow layers): then w = D, since its n − D padded slots are dark and would only multiply
    zeros (a depthwise 3x3 on a 96-slot block computed 87 of 96 products for nothing).
    ``out_scale`` (g, nb, N, 1): s_w·y_fs/q_o, taking ADC codes (times s_x) back to signal units.
    ``input_levels``: q of the input DACs the weights were scaled for (unsigned inputs use
    2^b − 1 levels on [0, 1], signed ones 2^(b−1) − 1 per sign).
    ``folded_std`` (g, nb, N, 1): with ``input_noise: folded``, the std in ADC codes of each
    conversion's output noise and of what the dynamic input noise gives it (σ_in·q·‖a_r‖),
    added in variance: one draw per conversion instead of one per input element.
    """

    analog: torch.Tensor
    out_scale: torch.Tensor
    input_levels: int
    folded_std: torch.Tensor | None = None
    signed_inputs: bool = True

    @property
    def block_width(self) -> int:
        """w: input slots per block that the simulation computes (see ``analog``)."""
        return self.analog.shape[3]

    @property
    def padded_fan_in(self) -> int:
        """nb·w: reduction length including the zero padding of the last block."""
        return self.analog.shape[1] * self.block_width


def _abs_max(values: torch.Tensor, dim: int) -> torch.Tensor:
    """max |values| along ``dim`` (kept), as max(max, -min): two reductions and no |values|
    temporary, about 2.5x faster than ``abs().amax()`` on a scoring batch's inputs."""
    values = values.detach()
    return torch.maximum(values.amax(dim, keepdim=True), values.amin(dim, keepdim=True).neg_())


def _mix_wavelengths(
    weights: torch.Tensor, state: NoiseState, cache: dict[Hashable, torch.Tensor]
) -> torch.Tensor:
    """Apply C along the wavelength index of each accumulation cycle of contiguous blocks.

    The detector sees Σ_i w_i·(C·x)_i = Σ_j (C·w)_j·x_j since C is symmetric, so mixing the few
    weights is exact and much cheaper than mixing the many inputs.
    """
    crosstalk = state.crosstalk
    if crosstalk is None:
        return weights
    key = ("crosstalk", weights.device, weights.dtype)
    mixing = cached(cache, key, lambda: crosstalk.to(weights))
    return (weights.reshape(-1, mixing.shape[0]) @ mixing).view(weights.shape)


def _encode_weights(
    blocks: torch.Tensor, state: NoiseState, cache: dict[Hashable, torch.Tensor]
) -> torch.Tensor:
    """DAC-quantize (g, N, nb, n) blocks already in full-scale units, then add encoder errors."""
    cfg = state.config
    q = levels(cfg.weight_bits)
    encoded = quantize_codes(blocks * q, q) / q
    if cfg.sigma_w_static:
        rows, fan_in = blocks.shape[1], blocks.shape[3]
        key = ("weight_offsets", rows, blocks.device, blocks.dtype)
        offsets = cached(cache, key, lambda: state.chip.for_weights(rows, fan_in).to(blocks))
        encoded = torch.add(encoded, offsets.unsqueeze(1), alpha=cfg.sigma_w_static)
    if cfg.sigma_w:
        noise = state.noise.normal(tuple(blocks.shape), blocks)
        encoded = torch.add(encoded, noise, alpha=cfg.sigma_w)
    return encoded


def _darken_padding(
    blocks: torch.Tensor, fan_in: int, cache: dict[Hashable, torch.Tensor]
) -> torch.Tensor:
    """Zero the padded slots of (g, N, nb, n) blocks: unused channels are dark."""
    blocks_per_row, n = blocks.shape[2:]
    padded = blocks_per_row * n
    if padded == fan_in:
        return blocks
    key = ("live_slots", padded, fan_in, blocks.device)
    live = cached(cache, key, lambda: torch.arange(padded, device=blocks.device) < fan_in)
    return blocks * live.view(blocks_per_row, n)


def _live_slots(analog: torch.Tensor, fan_in: int) -> torch.Tensor:
    """(g, N, nb, n) mixed blocks -> (g, N, nb, D) when one block holds the whole reduction
    (D < n, see :attr:`WeightTiles.analog`): its dark slots would only multiply zeros."""
    return analog[..., :fan_in] if fan_in < analog.shape[-1] else analog


def prepare_weights(
    weight: torch.Tensor,
    state: NoiseState,
    cache: dict[Hashable, torch.Tensor],
    signed_inputs: bool = True,
    fold_input_noise: bool = False,
) -> WeightTiles:
    """Block, scale, quantize, perturb and mix (g, N, D) weights; dynamic noise drawn per call.
    ``signed_inputs`` False: the inputs they will meet are non-negative (unsigned input DACs).
    ``fold_input_noise``: the dynamic input noise goes into :attr:`WeightTiles.folded_std`
    (``NoiseConfig.input_noise``) instead of being drawn per input element.

    Padded slots are zeroed before and after mixing: dark channels carry no encoder noise, leak
    nothing into live ones and pick up no input noise (the weight side stands in for the
    input side in the mixing, see :func:`_mix_wavelengths`).
    """
    cfg = state.config
    groups, rows, fan_in = weight.shape
    n = cfg.fan_in
    padded = math.ceil(fan_in / n) * n
    if padded > fan_in:
        weight = F.pad(weight, (0, padded - fan_in))
    blocks = weight.reshape(groups, rows, -1, n)
    scale = _abs_max(blocks, -1).clamp_min_(_SCALE_FLOOR)
    encoded = _darken_padding(_encode_weights(blocks / scale, state, cache), fan_in, cache)
    analog = _darken_padding(_mix_wavelengths(encoded, state, cache), fan_in, cache)
    full_scale = n / cfg.adc_gain
    q_in, q_out = levels(cfg.input_bits, signed_inputs), levels(cfg.adc_bits)
    analog = _live_slots(analog, fan_in)
    analog = (analog * (q_out / (full_scale * q_in))).transpose(1, 2).contiguous()
    folded = None
    if cfg.sigma_in and fold_input_noise:
        input_variance = analog.square().sum(-1, keepdim=True) * (cfg.sigma_in * q_in) ** 2
        folded = input_variance.add(output_code_std(cfg) ** 2).clamp_min(1e-24).sqrt()
    return WeightTiles(
        analog=analog,
        out_scale=(scale * (full_scale / q_out)).transpose(1, 2),
        input_levels=q_in,
        folded_std=folded,
        signed_inputs=signed_inputs,
    )


def output_code_std(cfg: NoiseConfig) -> float:
    """Std of the dynamic output noise per conversion, in ADC codes."""
    return cfg.output_sigma * levels(cfg.adc_bits) * cfg.adc_gain / cfg.fan_in


def needs_graph(*tensors: torch.Tensor) -> bool:
    """Whether autograd tracks any of ``tensors``: otherwise the tile works in place on its own
    buffers, which saves a third of the time of scoring (no allocation per step, one pass less)."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _encode_inputs(
    blocks: torch.Tensor,
    state: NoiseState,
    offsets: torch.Tensor | None,
    q: int,
    dynamic: bool = True,
    signed: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(g, nb, n, L) blocks -> (DAC codes plus encoder errors, s_x of shape (g, nb, 1, L)), for
    input DACs of q levels (signed or unsigned: the codes are the same rounding either way);
    ``dynamic`` False: no dynamic noise here (folded into the output noise); ``signed`` False:
    the blocks hold no negative value, so their max is their max |x| (one reduction, not two).

    Without autograd, ``blocks`` (a scratch buffer of the caller) is overwritten with the codes.
    """
    cfg = state.config
    largest = _abs_max(blocks, 2) if signed else blocks.detach().amax(2, keepdim=True)
    scale = largest.clamp_min_(_SCALE_FLOOR)
    # s_x is the block's max |x|, so clip(u, −1, 1) is the identity here: round only.
    if needs_graph(blocks):
        codes = round_ste(blocks * (q / scale))
    else:
        codes = blocks.mul_(scale.reciprocal().mul_(q)).round_()
    if offsets is not None:
        codes = _add(codes, offsets, cfg.sigma_in_static * q)
    if cfg.sigma_in and dynamic:
        codes = _add(codes, state.noise.normal(tuple(codes.shape), codes), cfg.sigma_in * q)
    return codes, scale


def _add(tensor: torch.Tensor, other: torch.Tensor, alpha: float) -> torch.Tensor:
    """tensor + alpha·other, in place when autograd does not need ``tensor``."""
    if needs_graph(tensor):
        return torch.add(tensor, other, alpha=alpha)
    return tensor.add_(other, alpha=alpha)


def _convert(sums: torch.Tensor, q_out: int) -> torch.Tensor:
    """ADC codes round(clip(sums, −q_o, q_o)), in place when autograd does not need ``sums``."""
    if needs_graph(sums):
        return quantize_codes(sums, q_out)
    return sums.clamp_(-q_out, q_out).round_()


def tile_matmul(
    inputs: torch.Tensor,
    tiles: WeightTiles,
    state: NoiseState,
    input_offsets: torch.Tensor | None = None,
) -> torch.Tensor:
    """(g, nb·w, L) zero-padded input columns -> (g, N, L) digitally accumulated outputs
    (w: :attr:`WeightTiles.block_width`).

    The L columns are the pixels of every image of the batch side by side, so each block is one
    wide matrix product (a batch of narrow ones runs at a fraction of the speed: its inner
    dimension is only n). Without autograd ``inputs`` is used as scratch space.
    ``input_offsets`` (w, L): the static input-encoder offsets of these columns as unit normals,
    or None when ``sigma_in_static`` is 0.
    """
    cfg = state.config
    groups, _, cols = inputs.shape
    blocks = inputs.view(groups, -1, tiles.block_width, cols)
    folded = tiles.folded_std
    codes, scale = _encode_inputs(
        blocks,
        state,
        input_offsets,
        tiles.input_levels,
        dynamic=folded is None,
        signed=tiles.signed_inputs,
    )
    sums = torch.matmul(tiles.analog, codes)  # (g, nb, N, L): every block in one product each
    q_out = levels(cfg.adc_bits)
    if folded is not None:  # one draw per conversion carries both noises' variance
        noise = state.noise.normal(tuple(sums.shape), sums)
        sums = sums + noise * folded if needs_graph(sums, folded) else sums.addcmul_(noise, folded)
    elif cfg.output_sigma:
        noise = state.noise.normal(tuple(sums.shape), sums)
        sums = _add(sums, noise, output_code_std(cfg))
    digital = _convert(sums, q_out)
    if needs_graph(digital):
        digital = digital * scale * tiles.out_scale
    else:
        digital = digital.mul_(scale).mul_(tiles.out_scale)
    if digital.shape[1] == 1:  # one block (depthwise and other narrow layers): nothing to sum
        return digital[:, 0]
    accumulator = torch.promote_types(digital.dtype, torch.float32)
    return digital.sum(1, dtype=accumulator).to(digital.dtype)
