"""evaluators.allocation: glibc keeps large freed buffers once asked."""

from __future__ import annotations

import platform
import resource

import pytest
import torch

from evaluators.allocation import keep_large_buffers

PAGES_PER_TENSOR = 12 << 20 >> 10  # 48 MB of float32 in 4 KiB pages


def _page_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_layer_sized_temporaries_mostly_reuse_their_pages() -> None:
    """Three 48 MB temporaries a round, as a layer call makes: with glibc's defaults each one is a
    fresh mapping that faults in all its pages every round (measured: 36 867 faults a round);
    kept, the later rounds reuse freed pages (measured: a third to a half of that)."""
    assert keep_large_buffers()
    x = torch.rand(12 << 20)
    faults = []
    for _ in range(8):
        before = _page_faults()
        y = x * 2
        z = y + 1
        w = torch.relu(z)
        del y, z, w
        faults.append(_page_faults() - before)
    assert sum(faults[1:]) < 0.7 * 7 * 3 * PAGES_PER_TENSOR, faults
