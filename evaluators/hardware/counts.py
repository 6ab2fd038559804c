"""How many of each device a chip holds (docs/photonic-model.md §1, §4.1, §5).

One table read by the mapping (events per cycle), the static power and the area, so the three
cannot disagree. Per core: H*N_lambda weight encoders (DAC + modulator), W*N_lambda input
encoders, H*W dot-product nodes (two photodiodes each). With ``share_inputs`` the R tiles share
one set of input encoders (LT ``input_mod_sharing_flag``, SP ``dptc.yml`` i9/i10 ``W*C*N``);
with ``share_adcs`` the C cores of a tile sum their photocurrents into one TIA and ADC per node
position (LT ``adc_share_flag``, "summation first" in ``entry_area_power_profile.py``), else
every node has its own. Every modulator lane has two MRR routers (multiplexer and demultiplexer:
LT ``entry_area_power_profile.py``, ``mrr_router_power * 2`` per modulator), so shared input
encoders share their rings too. Light sources: a laser and a comb per tile and per core
position, R + C of each (LT, SP ``dptc.yml`` i4/i5).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import HardwareConfig


@dataclass(frozen=True)
class DeviceCounts:
    """Devices of the whole chip."""

    weight_encoders: int
    input_encoders: int
    nodes: int
    channels: int  # TIA + ADC chains
    rings: int
    light_sources: int

    @classmethod
    def of(cls, cfg: HardwareConfig) -> DeviceCounts:
        h, w, lam, tiles, per_tile = (
            cfg.rows,
            cfg.cols,
            cfg.wavelengths,
            cfg.tiles,
            cfg.cores_per_tile,
        )
        weight = h * lam * cfg.cores
        inputs = w * lam * per_tile * (1 if cfg.share_inputs else tiles)
        return cls(
            weight_encoders=weight,
            input_encoders=inputs,
            nodes=h * w * cfg.cores,
            channels=h * w * tiles * (1 if cfg.share_adcs else per_tile),
            rings=2 * (weight + inputs),
            light_sources=tiles + per_tile,
        )
