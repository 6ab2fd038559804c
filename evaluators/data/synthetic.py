"""Procedural street-like scenes: the default dataset, generated (not downloaded), seeded.

Each scene has a sky above a tilted horizon, textured ground below it, brick walls standing on the
horizon, unlabelled colour blobs on the background, and 2-6 objects painted one over another
(so they occlude): disks with radial shading, rectangles with a dark outline, triangles with a
linear gradient, and thin striped bars. Each object class has its own hue range, but the ranges
of neighbouring classes overlap, backgrounds share hues with objects, and the blobs take any hue:
colour hints at a class without deciding it (a per-pixel colour lookup reaches about 0.35 mIoU),
so a network has to see shape, outline and texture, which is what makes capacity matter.
Lighting, a light gradient and sensor noise vary per scene.

Geometry is in units of the shorter image side, so any ``image_size`` gives the same scenes at a
different resolution. Scene ``i`` of a split depends only on (seed, split, i): asking for more
scenes appends, it never changes the earlier ones.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from evaluators.data.dataset import SegmentationData
from evaluators.data.registry import DatasetRequest, register_dataset
from evaluators.registry import Registry

CLASS_NAMES = ("sky", "ground", "wall", "disk", "rectangle", "triangle", "bar")
SKY, GROUND, WALL = 0, 1, 2
OBJECT_HUES = {"disk": 0.0, "rectangle": 0.25, "triangle": 0.5, "bar": 0.75}
HUE_SPREAD = 0.2


@dataclass(frozen=True)
class SceneStyle:
    """Counts and ranges of the generator; ``(low, high)`` pairs are inclusive-exclusive."""

    num_train: int = 320
    num_val: int = 96
    image_size: tuple[int, int] = (64, 64)
    objects: tuple[int, int] = (2, 7)
    walls: tuple[int, int] = (0, 3)
    blobs: tuple[int, int] = (0, 2)
    pixel_noise: tuple[float, float] = (0.01, 0.05)


STYLE = SceneStyle()


@register_dataset("synthetic")
def load_synthetic(request: DatasetRequest) -> SegmentationData:
    size = request.image_size or STYLE.image_size
    train = generate_scenes(request.num_train or STYLE.num_train, size, request.seed, split=0)
    val = generate_scenes(request.num_val or STYLE.num_val, size, request.seed, split=1)
    return SegmentationData(
        name="synthetic",
        train_images=train[0],
        train_labels=train[1],
        val_images=val[0],
        val_labels=val[1],
        class_names=CLASS_NAMES,
        source=f"synthetic(seed={request.seed}, size={size[0]}x{size[1]})",
    )


def generate_scenes(
    count: int, size: tuple[int, int], seed: int, split: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` scenes: uint8 images ``N x H x W x 3`` and uint8 labels ``N x H x W``."""
    images = np.empty((count, *size, 3), dtype=np.uint8)
    labels = np.empty((count, *size), dtype=np.uint8)
    for index in range(count):
        canvas = _Canvas(size, np.random.default_rng([seed, split, index]))
        _render(canvas)
        images[index] = canvas.finish()
        labels[index] = canvas.labels
    return torch.from_numpy(images), torch.from_numpy(labels)


class _Canvas:
    """One scene being painted: float RGB, labels, and pixel-centre coordinates in shape units."""

    def __init__(self, size: tuple[int, int], rng: np.random.Generator) -> None:
        self.rng = rng
        self.unit = min(size)  # pixels per geometry unit
        self.height, self.width = size[0] / self.unit, size[1] / self.unit
        self.ys = ((np.arange(size[0], dtype=np.float32) + 0.5) / self.unit)[:, None]
        self.xs = ((np.arange(size[1], dtype=np.float32) + 0.5) / self.unit)[None, :]
        self.image = np.zeros((*size, 3), dtype=np.float32)
        self.labels = np.zeros(size, dtype=np.uint8)

    @property
    def pixel(self) -> float:
        return 1.0 / self.unit

    def paint(self, mask: np.ndarray, colour: np.ndarray, label: int | None) -> None:
        """Paint ``colour`` (H x W x 3 or broadcastable) where ``mask``; None keeps the labels."""
        np.copyto(self.image, np.broadcast_to(colour, self.image.shape), where=mask[..., None])
        if label is not None:
            self.labels[mask] = label

    def smooth_noise(self, cells: int) -> np.ndarray:
        """Zero-mean smooth noise (H x W x 1): a random ``cells`` grid, bilinearly upsampled."""
        rows = _interpolation_matrix(self.image.shape[0], cells)
        cols = _interpolation_matrix(self.image.shape[1], cells)
        grid = self.rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
        return (rows @ grid @ cols.T)[..., None]

    def random_colour(
        self, hue: tuple[float, float], sat: tuple[float, float], val: tuple[float, float]
    ) -> np.ndarray:
        hsv = (self.rng.uniform(*hue) % 1.0, self.rng.uniform(*sat), self.rng.uniform(*val))
        return np.array(colorsys.hsv_to_rgb(*hsv), dtype=np.float32)

    def object_colour(self, label: int | None = None) -> np.ndarray:
        """An object's colour: hue within ±HUE_SPREAD of its class's hue (any hue for blobs).

        Neighbouring classes' hue ranges overlap, so colour hints at the class but never decides.
        """
        centre = 0.5 if label is None else OBJECT_HUES[CLASS_NAMES[label]]
        spread = 0.5 if label is None else HUE_SPREAD
        return self.random_colour((centre - spread, centre + spread), (0.4, 1.0), (0.35, 1.0))

    def point(self) -> tuple[float, float]:
        return self.rng.uniform(0, self.width), self.rng.uniform(0, self.height)

    def rotated(self, cx: float, cy: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates along and across direction ``angle`` around (cx, cy)."""
        dx, dy = self.xs - cx, self.ys - cy
        cos, sin = math.cos(angle), math.sin(angle)
        return dx * cos + dy * sin, dy * cos - dx * sin

    def finish(self) -> np.ndarray:
        """Lighting, sensor noise and quantisation: the uint8 image."""
        rng = self.rng
        u, _ = self.rotated(self.width / 2, self.height / 2, rng.uniform(0, 2 * math.pi))
        light = rng.uniform(0.7, 1.2) * (1 + rng.uniform(0, 0.25) * u)
        noise = rng.uniform(*STYLE.pixel_noise) * rng.standard_normal(self.image.shape)
        image = self.image * light[..., None] + noise.astype(np.float32)
        return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


@lru_cache(maxsize=32)
def _interpolation_matrix(pixels: int, cells: int) -> np.ndarray:
    """``pixels x (cells + 1)`` weights of linear interpolation between grid nodes."""
    position = (np.arange(pixels) + 0.5) / pixels * cells
    nodes = np.arange(cells + 1)
    return np.clip(1 - np.abs(position[:, None] - nodes[None, :]), 0, None).astype(np.float32)


def _render(canvas: _Canvas) -> None:
    rng = canvas.rng
    horizon = _paint_sky_and_ground(canvas)
    for _ in range(rng.integers(*STYLE.walls)):
        _paint_wall(canvas, horizon)
    for _ in range(rng.integers(*STYLE.blobs)):
        _paint_blob(canvas)
    for _ in range(rng.integers(*STYLE.objects)):
        label = int(rng.integers(WALL + 1, len(CLASS_NAMES)))
        OBJECT_PAINTERS[CLASS_NAMES[label]](canvas, label)


def _paint_sky_and_ground(canvas: _Canvas) -> np.ndarray:
    """Sky (clear or overcast, brighter toward the horizon, clouds) over grainy ground.

    Returns the horizon height per column (1 x W) for walls to stand on.
    """
    rng, ys = canvas.rng, canvas.ys
    tilt = rng.uniform(-0.25, 0.25) * (canvas.xs - canvas.width / 2)
    horizon = rng.uniform(0.3, 0.65) * canvas.height + tilt
    clear = rng.random() < 0.7
    sky = canvas.random_colour(
        (0.5, 0.65) if clear else (0.0, 1.0), (0.2, 0.7) if clear else (0.0, 0.15), (0.6, 1.0)
    )
    glow = (0.75 + 0.35 * np.clip(ys / horizon, 0, 1))[..., None]
    clouds = np.clip(canvas.smooth_noise(3), 0, None) * rng.uniform(0.05, 0.25)
    canvas.paint(ys < horizon, sky * glow + clouds, SKY)
    ground = canvas.random_colour((0.0, 0.4), (0.1, 0.5), (0.25, 0.7))
    depth = (0.8 + 0.3 * np.clip((ys - horizon) / canvas.height, 0, 1))[..., None]
    grain = rng.uniform(0.02, 0.08) * rng.standard_normal((*canvas.image.shape[:2], 1))
    texture = 1 + 0.25 * canvas.smooth_noise(8)
    canvas.paint(ys >= horizon, ground * depth * texture + grain.astype(np.float32), GROUND)
    return horizon


def _paint_wall(canvas: _Canvas, horizon: np.ndarray) -> None:
    """A brick wall standing on the horizon: a colour with darker mortar lines."""
    rng, px = canvas.rng, canvas.pixel
    left, top = rng.uniform(-0.2, canvas.width), rng.uniform(0.05, 0.5) * canvas.height
    right = left + rng.uniform(0.15, 0.5)
    base = horizon + rng.uniform(0, 0.1)
    mask = (canvas.xs >= left) & (canvas.xs < right) & (canvas.ys >= top) & (canvas.ys < base)
    period = rng.uniform(3, 6) * px
    row = np.floor((canvas.ys - top) / period)
    mortar = ((canvas.ys - top) % period < px) | (
        (canvas.xs - left + row * period) % (2 * period) < px
    )
    colour = canvas.random_colour((0.0, 1.0), (0.0, 0.5), (0.3, 0.85))
    shade = np.where(mortar, 0.55, 1.0)[..., None] * (1 + 0.1 * canvas.smooth_noise(6))
    canvas.paint(mask, colour * shade, WALL)


def _paint_blob(canvas: _Canvas) -> None:
    """An irregular patch in an object colour that stays labelled as whatever lies beneath."""
    cx, cy = canvas.point()
    radius = canvas.rng.uniform(0.08, 0.25)
    distance = np.sqrt((canvas.xs - cx) ** 2 + (canvas.ys - cy) ** 2) / radius
    mask = (1 - distance + 0.4 * canvas.smooth_noise(5)[..., 0]) > 0
    canvas.paint(mask, canvas.object_colour(), None)


ObjectPainter = Callable[[_Canvas, int], None]
OBJECT_PAINTERS: Registry[ObjectPainter] = Registry("object painter")
_object = OBJECT_PAINTERS.register


@_object("disk")
def _paint_disk(canvas: _Canvas, label: int) -> None:
    """A slightly elliptic disk, bright in the middle and darker toward its rim."""
    rng = canvas.rng
    cx, cy = canvas.point()
    radius, aspect = rng.uniform(0.08, 0.2), rng.uniform(0.8, 1.25)
    along, across = canvas.rotated(cx, cy, rng.uniform(0, math.pi))
    d2 = (along / radius) ** 2 + (across / (radius * aspect)) ** 2
    canvas.paint(d2 < 1, canvas.object_colour(label) * (1.15 - 0.55 * d2)[..., None], label)


@_object("rectangle")
def _paint_rectangle(canvas: _Canvas, label: int) -> None:
    """A tilted rectangle of flat colour with a dark outline about a pixel wide."""
    rng = canvas.rng
    cx, cy = canvas.point()
    half_a, half_b = rng.uniform(0.08, 0.2, size=2)
    along, across = canvas.rotated(cx, cy, rng.uniform(-0.6, 0.6))
    inside_a, inside_b = half_a - np.abs(along), half_b - np.abs(across)
    edge = 1.2 * canvas.pixel
    outline = (inside_a < edge) | (inside_b < edge)
    colour = canvas.object_colour(label) * np.where(outline, 0.5, 1.0)[..., None]
    canvas.paint((inside_a > 0) & (inside_b > 0), colour, label)


@_object("triangle")
def _paint_triangle(canvas: _Canvas, label: int) -> None:
    """A roughly equilateral triangle shaded by a linear gradient in a random direction."""
    rng = canvas.rng
    cx, cy = canvas.point()
    radius = rng.uniform(0.1, 0.24)
    angles = rng.uniform(0, 2 * math.pi) + np.arange(3) * 2 * math.pi / 3
    angles = angles + rng.uniform(-0.35, 0.35, size=3)
    vx, vy = cx + radius * np.cos(angles), cy + radius * np.sin(angles)
    inside = np.ones(canvas.labels.shape, dtype=bool)
    for i in range(3):
        j = (i + 1) % 3
        cross = (vx[j] - vx[i]) * (canvas.ys - vy[i]) - (vy[j] - vy[i]) * (canvas.xs - vx[i])
        inside &= cross > 0
    along, _ = canvas.rotated(cx, cy, rng.uniform(0, 2 * math.pi))
    canvas.paint(inside, canvas.object_colour(label) * (1 + 0.6 * along / radius)[..., None], label)


@_object("bar")
def _paint_bar(canvas: _Canvas, label: int) -> None:
    """A long bar 2-4 pixels thick at 64 px (mostly upright, like a pole), banded along it."""
    rng = canvas.rng
    cx, cy = canvas.point()
    upright = rng.random() < 0.7
    angle = math.pi / 2 + rng.uniform(-0.25, 0.25) if upright else rng.uniform(0, math.pi)
    along, across = canvas.rotated(cx, cy, angle)
    half_length, half_width = rng.uniform(0.15, 0.45), rng.uniform(0.012, 0.03)
    mask = (np.abs(along) < half_length) & (np.abs(across) < half_width)
    bands = np.floor(along / rng.uniform(0.04, 0.1)) % 2
    canvas.paint(mask, canvas.object_colour(label) * np.where(bands, 1.0, 0.6)[..., None], label)
