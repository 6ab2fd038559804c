"""Declared, validated dataclass fields: each default sits next to its range, unit and source.

``knob(...)`` makes a dataclass field whose metadata is a :class:`Spec`; :func:`field_specs`
reads them back once per class; :func:`check` raises a one-line :class:`ConfigError` naming the
field and its allowed range; :func:`coerce` turns design-param values (YAML text, numpy scalars,
16.0 from an optimizer) into the field's type. A bound may name another attribute of the object
(``high="dac_ref_bits"``), with a ``note`` saying what that limit is.
"""

from __future__ import annotations

import dataclasses
import numbers
import typing
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ConfigError

Bound = float | str | None  # a number, the name of an attribute, or unbounded


@dataclass(frozen=True)
class Spec:
    """Valid range of one field, with its unit and literature source."""

    low: Bound = None
    high: Bound = None
    unit: str = ""
    source: str = ""
    choices: tuple[str, ...] = ()
    open_low: bool = False  # the lower bound itself is not allowed (clock > 0)
    note: str = ""  # what a named bound means, shown in errors


@dataclass(frozen=True)
class FieldSpec:
    """A :class:`Spec` bound to a field: its name, concrete type and whether None is allowed."""

    name: str
    spec: Spec
    kind: type
    optional: bool


def knob(
    default: Any,
    low: Bound = None,
    high: Bound = None,
    unit: str = "",
    source: str = "",
    *,
    choices: tuple[str, ...] = (),
    open_low: bool = False,
    note: str = "",
) -> Any:
    """A dataclass field whose metadata holds its :class:`Spec`."""
    spec = Spec(low, high, unit, source, choices, open_low, note)
    return field(default=default, metadata={"spec": spec})


def field_specs(cls: type) -> tuple[FieldSpec, ...]:
    """The specs of ``cls``'s knobs; fields whose bound names another field come last."""
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        args = typing.get_args(hints[f.name])
        concrete = [a for a in args if a is not type(None)]
        kind = concrete[0] if concrete else hints[f.name]
        specs.append(FieldSpec(f.name, f.metadata["spec"], kind, type(None) in args))
    return tuple(sorted(specs, key=lambda s: isinstance(s.spec.high, str)))


# Exact types accepted per field kind: a bool is not an int here, an int is a fine float.
_ACCEPTED: dict[type, tuple[type, ...]] = {
    bool: (bool,),
    int: (int,),
    float: (int, float),
    str: (str,),
}


def _resolve(obj: object, bound: Bound) -> Any:
    return getattr(obj, bound) if isinstance(bound, str) else bound


def _allowed(obj: object, f: FieldSpec) -> str:
    spec = f.spec
    if spec.choices:
        return "one of " + ", ".join(spec.choices)
    if f.kind is bool:
        return "true or false"
    low, high = _resolve(obj, spec.low), _resolve(obj, spec.high)
    limit = f" ({spec.high}: {spec.note})" if isinstance(spec.high, str) else ""
    left = "(" if spec.open_low else "["
    return f"allowed {left}{low}, {high}] {spec.unit}{limit}".rstrip()


def check(obj: object, f: FieldSpec) -> None:
    """Raise a one-line ConfigError naming the field unless ``obj``'s value is valid."""
    value = getattr(obj, f.name)
    if value is None and f.optional:
        return
    if type(value) not in _ACCEPTED[f.kind]:
        raise ConfigError(f"{f.name}={value!r}: expected {f.kind.__name__}; {_allowed(obj, f)}")
    if f.spec.choices:
        if value not in f.spec.choices:
            raise ConfigError(f"{f.name}={value!r}: {_allowed(obj, f)}")
        return
    low, high = _resolve(obj, f.spec.low), _resolve(obj, f.spec.high)
    below = low is not None and (value <= low if f.spec.open_low else value < low)
    if below or (high is not None and value > high):
        raise ConfigError(f"{f.name}={value!r} out of range: {_allowed(obj, f)}")


_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def coerce(f: FieldSpec, value: Any, label: str) -> Any:
    """``value`` in the field's type where it has an obvious reading; else unchanged, for
    :func:`check` to reject. ``label`` names the value in errors (``hw.rows``)."""
    try:
        if isinstance(value, str) and f.kind is bool:
            if value.lower() not in _TRUE | _FALSE:
                raise ValueError(value)
            return value.lower() in _TRUE
        if isinstance(value, str) and f.kind in (int, float):
            return f.kind(value)
        if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
            if f.kind is int and float(value).is_integer():
                return int(float(value))
            if f.kind is float:
                return float(value)
    except ValueError:
        raise ConfigError(f"{label}={value!r}: expected {f.kind.__name__}") from None
    return value
