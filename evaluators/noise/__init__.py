"""Photonic noise and quantization in the forward pass (docs/photonic-model.md §6, §7).

Every Conv2d/Linear becomes the GEMM Y = W·X of §1 (im2col; D = C_in/g·k² along the wavelengths,
N = C_out/g on the rows, M = B·H_o·W_o pixels on the columns; a ConvTranspose2d the GEMM of its
col2im form, D = C_in/g, N = C_out/g·k², M = B·H·W input pixels, whose overlap-add is digital) and
runs, per GEMM tile, as:

1. D is cut into nb = ⌈D/n⌉ blocks of n = N_λ·T (one ADC conversion each); the last block is
   padded with dark channels (no signal, no noise, no crosstalk).
2. Block floating point: s_x = max|x| over the block per pixel, s_w = max|w| over the block per
   output row, both detached, so each operand spans the DAC range [−1, 1].
3. DAC quantization Q_b(u) = round(clip(u, −1, 1)·q)/q, q = 2^(b−1) − 1; *then* encoder errors,
   additive, in DAC full-scale units (fractions of s_x or s_w): dynamic ``sigma_in`` and
   ``sigma_w``, static per-device offsets ``sigma_in_static`` (column, wavelength) and
   ``sigma_w_static`` (row, wavelength).
4. WDM crosstalk C (Lorentzian ring, C_ij = X(|i−j|·FSR/N_λ)) along the wavelength index:
   deterministic, fixed by ring width, FSR and N_λ.
5. Analog sum of every block in one batched matmul, plus dynamic output noise of std
   ``sigma_out``·√n product units ("sqrt_n", a product of two full-scale operands being 1) or
   ``sigma_out``·n/G ("adc_range", a fraction of the ADC range).
6. ADC: full scale n/G, q_o = 2^(b_out−1) − 1 levels, clip and round.
7. Digital accumulation Σ_β s_x·s_w·y_q over blocks, at least in float32, then bias.
   Everything outside these GEMM layers (BN, activations, pooling, adds) stays digital and exact.

Static errors are drawn once per ``chip_seed`` per physical device and shared by every layer and
tile using that device; dynamic ones come from a separate ``noise_seed`` stream on the tensor's
device and change on every forward pass. round has a straight-through gradient and clip the
usual clipped one, so the same layers train noise-aware: attach with fresh seeds (and, for a
noise range, ``config.scaled(s)``) every step. A layer call whose tile would keep more than
``layers.GRAPH_CONVERSIONS`` partial sums for the backward pass takes the float layer's
gradient at the same input instead (see :mod:`.layers`: memory). On the CPU, a layer call that
needs no gradient and draws no per-element input noise (every score) runs steps 1-7 fused in a
native kernel built on first use (:mod:`.native`), with the same arithmetic and noise draws.

Approximations: dynamic input noise is drawn per element of the unfolded GEMM (each im2col copy
is encoded anew, as on an output-stationary core); dynamic weight noise once per weight per
forward pass rather than per cycle; all GEMM tiles share one core's devices for static errors;
crosstalk is applied on the weight side (exact, C being symmetric); dynamic normals are recycled
``noise_reuse`` times on average (see :class:`randomness.NoiseSource`; 1 is exact).
"""

from .config import HardwareLike, NoiseConfig, NoiseConfigError
from .convert import attach_noise, detach_noise, photonic_mode
from .layers import PhotonicConv2d, PhotonicConvTranspose2d, PhotonicLayer, PhotonicLinear
from .quant import adc_quantize, dac_quantize
from .state import NoiseState

__all__ = [
    "HardwareLike",
    "NoiseConfig",
    "NoiseConfigError",
    "NoiseState",
    "PhotonicConv2d",
    "PhotonicConvTranspose2d",
    "PhotonicLayer",
    "PhotonicLinear",
    "adc_quantize",
    "attach_noise",
    "dac_quantize",
    "detach_noise",
    "photonic_mode",
]
