"""Static and dynamic randomness, from two separate seeds (aihwkit #503).

Static errors belong to physical devices of one chip: they are drawn once from ``chip_seed`` as
unit normals per (row, wavelength) weight encoder and per (column, wavelength) input encoder,
and every GEMM tile that reuses a device sees the same value. Dynamic noise is redrawn on every
use from a generator seeded with ``noise_seed`` on the tensor's own device.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

__all__ = ["ChipErrors", "NoiseSource"]

_MIN_POOL = 1 << 20
_POOL_HEADROOM = 4
"""Pool size over the largest request so far: windows start anywhere in the first 3/4. A larger
pool costs more to draw than the whole forward pass of a small network (16x did)."""


class ChipErrors:
    """Unit-normal static offsets of one chip's encoders, drawn on the CPU from ``seed``.

    The draws do not depend on the sigmas, so a chip keeps its identity when the noise is scaled.
    The same devices serve every layer, so one ChipErrors is shared by the whole model.
    """

    def __init__(self, seed: int, rows: int, cols: int, wavelengths: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.weight_offsets = torch.randn(rows, wavelengths, generator=generator)
        self.input_offsets = torch.randn(cols, wavelengths, generator=generator)

    def for_weights(self, out_rows: int, fan_in: int) -> torch.Tensor:
        """(out_rows, fan_in): the offset of the encoder (r mod H, j mod N_λ) for block slot j."""
        rows, wavelengths = self.weight_offsets.shape
        return self.weight_offsets[torch.arange(out_rows) % rows, :][
            :, torch.arange(fan_in) % wavelengths
        ]

    def for_inputs(self, batch: int, pixels: int, fan_in: int) -> torch.Tensor:
        """(batch, fan_in, pixels): GEMM column p = b·pixels + l lands on column p mod W."""
        cols, wavelengths = self.input_offsets.shape
        column = torch.arange(batch * pixels) % cols
        per_column = self.input_offsets[:, torch.arange(fan_in) % wavelengths]
        return per_column[column].reshape(batch, pixels, fan_in).transpose(1, 2)


@dataclass
class _Pool:
    values: torch.Tensor
    served: int = 0


class NoiseSource:
    """Standard normals for dynamic noise, one generator per device, all seeded with ``seed``.

    The CPU generator costs about 7 ns per normal, more than the rest of the tile pipeline per
    element, so with ``reuse`` > 1 requests are served as windows at uniformly random offsets of
    a pool of i.i.d. normals that is redrawn once it has served ``reuse`` times its size, and
    extended with fresh normals when a request outgrows it. A window never repeats a value, so
    each request is exactly i.i.d.; values recur only between requests, at unrelated positions.
    ``reuse`` = 1 draws every sample afresh.
    """

    def __init__(self, seed: int, reuse: int) -> None:
        self._seed = seed
        self._reuse = reuse
        self._offsets = random.Random(seed)
        self._generators: dict[torch.device, torch.Generator] = {}
        self._pools: dict[tuple[torch.device, torch.dtype], _Pool] = {}

    def normal(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """Unit normals of ``shape`` on the device and dtype of ``like``."""
        count = math.prod(shape)
        if self._reuse == 1:
            gen = self._generator(like.device)
            return torch.randn(shape, generator=gen, device=like.device, dtype=like.dtype)
        pool = self._pool(count, like)
        start = self._offsets.randrange(pool.values.numel() - count + 1)
        pool.served += count
        return pool.values[start : start + count].view(shape)

    def _pool(self, count: int, like: torch.Tensor) -> _Pool:
        key = (like.device, like.dtype)
        pool = self._pools.get(key)
        size = max(_MIN_POOL, _POOL_HEADROOM * count)
        if pool is None or pool.served + count > self._reuse * pool.values.numel():
            held = 0 if pool is None else pool.values.numel()
            pool = self._pools[key] = _Pool(self._draw(max(size, held), like))
        elif pool.values.numel() < size:
            # Extended, not redrawn: a network's requests grow layer by layer, and redrawing the
            # pool for each slightly larger one drew 2.3x the normals on CamVid designs.
            more = self._draw(size - pool.values.numel(), like)
            pool.values = torch.cat([pool.values, more])
        return pool

    def _draw(self, count: int, like: torch.Tensor) -> torch.Tensor:
        gen = self._generator(like.device)
        return torch.randn(count, generator=gen, device=like.device, dtype=like.dtype)

    def _generator(self, device: torch.device) -> torch.Generator:
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self._seed)
        return self._generators[device]
