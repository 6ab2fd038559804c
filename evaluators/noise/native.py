"""The eval-mode tile as one native pass per column tile (``tile_kernel.c``), built on first use.

Scoring spends most of its time in memory passes over the unfolded input and the block sums that
:func:`evaluators.noise.tiling.tile_matmul` makes one PyTorch operation at a time; the kernel
does the same arithmetic in one pass (its header says how), for CPU float32 layers that need no
gradient and draw no per-element input noise: every scoring and recalibration pass of the
default ``input_noise: auto``. Training, CUDA and ``input_noise: exact`` keep the PyTorch tile.

The kernel is compiled with the system's C compiler (``cc``, or ``$CC``) into
``$PHOTONIC_DSE_NATIVE_CACHE`` (default ``~/.cache/photonic-dse/native``) under a name keyed
by its source, flags and machine, once per machine (workers that start together each compile
to a temporary file and the last rename wins; they are identical). Where no compiler works, a
one-line warning says so and the PyTorch tile runs instead, with the same results, slower.
``PHOTONIC_DSE_NATIVE=0`` turns the kernel off.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import math
import os
import platform
import shlex
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from .quant import levels
from .state import NoiseState
from .tiling import WeightTiles, needs_graph, output_code_std

__all__ = ["TileKernel", "native_tile", "native_tile_fits", "tile_kernel"]

SOURCE = Path(__file__).with_name("tile_kernel.c")
FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fPIC", "-shared")
"""-O3 and -march=native vectorize the TILE-column loops for this CPU; -ffp-contract=off keeps
the compiler from fusing a multiply and an add that PyTorch rounds apart (the DAC codes, the
rescaling, the block sum: the kernel fuses only the products' sums, on purpose)."""


class _TileCall(ctypes.Structure):
    """``TileCall`` of ``tile_kernel.c``, field for field."""

    _fields_ = [
        ("source", ctypes.c_void_p),
        ("group_stride", ctypes.c_int64),
        ("slot_offsets", ctypes.c_void_p),
        ("fan_in", ctypes.c_int64),
        ("column_offsets", ctypes.c_void_p),
        ("columns", ctypes.c_int64),
        ("analog", ctypes.c_void_p),
        ("out_scale", ctypes.c_void_p),
        ("groups", ctypes.c_int64),
        ("blocks", ctypes.c_int64),
        ("rows", ctypes.c_int64),
        ("width", ctypes.c_int64),
        ("input_levels", ctypes.c_float),
        ("signed_inputs", ctypes.c_int32),
        ("output_levels", ctypes.c_float),
        ("noise", ctypes.c_void_p),
        ("noise_std", ctypes.c_void_p),
        ("noise_value", ctypes.c_float),
        ("input_offsets", ctypes.c_void_p),
        ("offsets_stride", ctypes.c_int64),
        ("offsets_alpha", ctypes.c_float),
        ("out", ctypes.c_void_p),
        ("first_column", ctypes.c_int64),
        ("image_columns", ctypes.c_int64),
    ]


class TileKernel:
    """The loaded kernel: :meth:`run` fills a ``TileCall`` and calls it."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self._function = library.photonic_tile
        self._function.argtypes = [ctypes.POINTER(_TileCall)]
        self._function.restype = ctypes.c_int

    def run(self, **fields: int | float | None) -> None:
        """One chunk of columns (fields of ``TileCall``; pointers as ``data_ptr()`` or None).
        The caller keeps every tensor behind a pointer alive and contiguous for the call."""
        call = _TileCall(**{name: value for name, value in fields.items() if value is not None})
        if self._function(ctypes.byref(call)):
            raise MemoryError("photonic tile kernel: no memory for its scratch buffers")


def _compiler() -> list[str]:
    return shlex.split(os.environ.get("CC", "cc"))


def _processor() -> str:
    """What -march=native builds for: the CPU's model and instruction-set flags where Linux says
    them (a home directory shared by machines that share a host name too, as containers may,
    must not hand one CPU's build to another), else the platform's own word."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    wanted = ("model name", "flags", "Features", "CPU part")
    return "\n".join(sorted({line for line in lines if line.startswith(wanted)}))


def _library_path() -> Path:
    """Where the build for this source, these flags and this machine lives."""
    cache = os.environ.get("PHOTONIC_DSE_NATIVE_CACHE")
    directory = Path(cache) if cache else Path.home() / ".cache" / "photonic-dse" / "native"
    identity = [SOURCE.read_bytes(), *_compiler(), *FLAGS, platform.node(), _processor()]
    digest = hashlib.sha256(b"\0".join(str(part).encode() for part in identity)).hexdigest()
    return directory / f"tile-{digest[:16]}.so"


def _build(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / target.name
        command = [*_compiler(), *FLAGS, "-o", str(built), str(SOURCE)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            first = (result.stderr.strip().splitlines() or ["no message"])[0]
            raise OSError(f"`{shlex.join(command[:2])} ...` failed: {first}")
        os.replace(built, target)


@functools.cache
def tile_kernel() -> TileKernel | None:
    """The kernel, built on first use; None (after one warning) where it cannot be, or with
    ``PHOTONIC_DSE_NATIVE=0``."""
    if os.environ.get("PHOTONIC_DSE_NATIVE", "1") == "0":
        return None
    try:
        path = _library_path()
        if not path.exists():
            _build(path)
        return TileKernel(ctypes.CDLL(str(path)))
    except (OSError, subprocess.SubprocessError) as error:
        warnings.warn(
            f"native photonic tile unavailable ({error}); scoring runs the PyTorch tile,"
            " with the same results, about 1.5x slower",
            RuntimeWarning,
            stacklevel=2,
        )
        return None


def native_tile_fits(
    state: NoiseState, tiles: WeightTiles, source: torch.Tensor, weight: torch.Tensor
) -> bool:
    """Whether the kernel computes this layer call: CPU float32, no gradient wanted, and no
    dynamic input noise drawn per element (``input_noise: exact`` with ``sigma_in``)."""
    if needs_graph(source, weight) or (state.config.sigma_in and tiles.folded_std is None):
        return False
    tensors = (source, tiles.analog)
    return all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors)


def _offsets(shape: Sequence[int], strides: Sequence[int]) -> torch.Tensor:
    """Element offsets of every index of ``shape`` under ``strides``, flattened in order."""
    total = torch.zeros((), dtype=torch.int64)
    for dim, (size, stride) in enumerate(zip(shape, strides, strict=True)):
        index = torch.arange(size, dtype=torch.int64) * stride
        total = total.unsqueeze(-1) + index if dim else total + index
    return total.reshape(-1).contiguous()


def native_tile(
    kernel: TileKernel,
    state: NoiseState,
    tiles: WeightTiles,
    source: torch.Tensor,
    reduction_dims: int,
    input_offsets: torch.Tensor | None,
    chunks: Sequence[tuple[slice, slice]],
) -> torch.Tensor:
    """``layers.PhotonicLayer._photonic_gemm`` on the kernel: (B, g, *reduction, lines, *line)
    source -> (B, g, N, M), chunk by chunk as the PyTorch tile goes, drawing the same noise.
    ``input_offsets``: (n, B, lines, line) static input-encoder offsets or None."""
    cfg = state.config
    batch, groups = source.shape[:2]
    reduction = source.shape[2 : 2 + reduction_dims]
    columns = source.shape[2 + reduction_dims :]
    line_width, image_columns = math.prod(columns[1:]), math.prod(columns)
    strides = source.stride()
    slots = _offsets(reduction, strides[2 : 2 + reduction_dims])
    column_offsets = _offsets((batch, *columns), (strides[0], *strides[2 + reduction_dims :]))
    analog, out_scale = tiles.analog, tiles.out_scale.contiguous()
    g, blocks, rows, width = analog.shape
    offsets = None
    if input_offsets is not None:
        offsets = input_offsets[:width].reshape(width, -1).contiguous()
    noise_value = 0.0 if tiles.folded_std is not None else output_code_std(cfg)
    drawn = tiles.folded_std is not None or bool(noise_value)
    out = source.new_empty(batch, groups, rows, image_columns)
    for images, span in chunks:
        first = images.start * image_columns + span.start * line_width
        count = (images.stop - images.start - 1) * image_columns + (
            span.stop - span.start
        ) * line_width
        noise = state.noise.normal((g, blocks, rows, count), analog).contiguous() if drawn else None
        kernel.run(
            source=source.data_ptr(),
            group_stride=strides[1],
            slot_offsets=slots.data_ptr(),
            fan_in=len(slots),
            column_offsets=column_offsets.data_ptr() + 8 * first,
            columns=count,
            analog=analog.data_ptr(),
            out_scale=out_scale.data_ptr(),
            groups=g,
            blocks=blocks,
            rows=rows,
            width=width,
            input_levels=float(tiles.input_levels),
            signed_inputs=int(tiles.signed_inputs),
            output_levels=float(levels(cfg.adc_bits)),
            noise=None if noise is None else noise.data_ptr(),
            noise_std=None if tiles.folded_std is None else tiles.folded_std.data_ptr(),
            noise_value=noise_value,
            input_offsets=None if offsets is None else offsets.data_ptr() + 4 * first,
            offsets_stride=0 if offsets is None else offsets.shape[1],
            offsets_alpha=cfg.sigma_in_static * tiles.input_levels,
            out=out.data_ptr(),
            first_column=first,
            image_columns=image_columns,
        )
    return out
