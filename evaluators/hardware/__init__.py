"""Analytic cost model of a WDM photonic tensor-core accelerator running a torch network.

:func:`evaluate_hardware` costs any torch module on an input shape or example input (images,
token sequences, attention). For many configurations, extract the network once
(:func:`extract_layers`), then cost it on each (:func:`cost_network`) or on a digital reference
(:func:`cost_digital`). The model (docs/photonic-model.md) follows SimPhony and
Lightening-Transformer, held against their own figures in
tests/evaluators/hardware/test_references.py; each module states its equations.
"""

from .config import PRESETS, HardwareConfig
from .cost import cost_network, evaluate_hardware
from .digital import DigitalReference, cost_digital
from .errors import ConfigError, ExtractionError
from .extract import extract_layers
from .layers import LayerSpec, LayerTable
from .report import HardwareReport

__all__ = [
    "PRESETS",
    "ConfigError",
    "DigitalReference",
    "ExtractionError",
    "HardwareConfig",
    "HardwareReport",
    "LayerSpec",
    "LayerTable",
    "cost_digital",
    "cost_network",
    "evaluate_hardware",
    "extract_layers",
]
