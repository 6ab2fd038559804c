"""Declared, validated option dataclasses: each default sits next to its range, unit and source.

Every configuration the domain reads from a space or a design file (the evaluator's options, the
hardware, the noise model, the supernet recipe, the digital reference) is a frozen dataclass
that derives from :class:`Options` and declares its fields with :func:`knob`. That one table
gives the documentation, the validation and the error messages, so they cannot drift apart:

- :meth:`Options.create` is the constructor for user input: an unknown name, a value of the
  wrong type and a value out of range all raise the class's :attr:`Options.error` (an
  :class:`OptionError`) in one line that names the field as the user spells it (``hw.rows``,
  ``noise.sigma_out``, ``supernet.epochs``) and says what it accepts. Values with an obvious
  reading are coerced first (YAML text, numpy scalars, 16.0 from an optimizer, a list for a tuple).
- Constructing the dataclass directly validates too (``__post_init__``), without coercion.
- A bound may name another field (``high="dac_ref_bits"``), with a ``note`` saying what that
  limit is; ``choices`` may be a live registry (a dict), so a newly registered name is valid.
- Checks across fields or of nested options go in :meth:`Options.validate`.
"""

from __future__ import annotations

import dataclasses
import numbers
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

Bound = float | str | None  # a number, the name of another field, or unbounded


class OptionError(ValueError):
    """A bad option value: one line, ``<label><field>=<value>: <what it accepts>``."""


@dataclass(frozen=True)
class Spec:
    """Valid values of one field, with its unit and literature source."""

    low: Bound = None
    high: Bound = None
    unit: str = ""
    source: str = ""
    choices: Collection[Any] = ()
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
    choices: Collection[Any] = (),
    open_low: bool = False,
    note: str = "",
) -> Any:
    """A dataclass field whose metadata holds its :class:`Spec`; a dict default is copied per
    instance."""
    metadata = {"spec": Spec(low, high, unit, source, choices, open_low, note)}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


# Exact types accepted per field kind: a bool is not an int here, an int is a fine float.
_ACCEPTED: dict[type, tuple[type, ...]] = {
    bool: (bool,),
    int: (int,),
    float: (int, float),
    str: (str,),
    dict: (dict,),
    tuple: (tuple,),
}
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def _field_spec(f: dataclasses.Field[Any], hint: Any) -> FieldSpec:
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional, hint = len(args) < len(typing.get_args(hint)), args[0]
    kind = typing.get_origin(hint) or hint
    if kind not in _ACCEPTED:
        raise TypeError(f"option field {f.name}: type {hint!r} is not supported")
    return FieldSpec(f.name, f.metadata["spec"], kind, optional)


def _bound_by_another_field(f: FieldSpec) -> bool:
    return isinstance(f.spec.low, str) or isinstance(f.spec.high, str)


class Options:
    """Base of the option dataclasses (see the module docstring)."""

    label: ClassVar[str] = ""  # how users spell the fields' prefix: "hw.", "noise.", ...
    error: ClassVar[type[OptionError]] = OptionError
    _specs: ClassVar[dict[type, tuple[FieldSpec, ...]]] = {}

    def __post_init__(self) -> None:
        for spec in self.specs():
            self._check(spec)
        self.validate()

    def validate(self) -> None:
        """Checks across fields or of nested options (override; raise ``self.error``)."""

    @classmethod
    def specs(cls) -> tuple[FieldSpec, ...]:
        """The fields' specs; fields whose bounds name another field come last."""
        if cls not in Options._specs:
            hints = typing.get_type_hints(cls)
            fields = dataclasses.fields(cls)  # type: ignore[arg-type]
            specs = [_field_spec(f, hints[f.name]) for f in fields]
            Options._specs[cls] = tuple(sorted(specs, key=_bound_by_another_field))
        return Options._specs[cls]

    @classmethod
    def spec(cls, name: str) -> FieldSpec:
        """The spec of field ``name``; an unknown name is a one-line error listing the known."""
        for spec in cls.specs():
            if spec.name == name:
                return spec
        known = ", ".join(sorted(s.name for s in cls.specs()))
        raise cls.error(f"{cls.label}{name}: unknown option; known: {known}")

    @classmethod
    def create(cls, **values: Any) -> Self:
        """Build from user input: unknown names, wrong types and out-of-range values all fail
        in one line naming the field."""
        coerced = {name: cls.coerce(name, value) for name, value in values.items()}
        return cls(**coerced)

    @classmethod
    def coerce(cls, name: str, value: Any, label: str | None = None) -> Any:
        """``value`` in field ``name``'s type where it has an obvious reading (see
        :func:`coerce`); ``label`` names the value in errors (default: the field)."""
        return coerce(cls.spec(name), value, label or f"{cls.label}{name}", cls.error)

    def _check(self, f: FieldSpec) -> None:
        check(f, getattr(self, f.name), f"{self.label}{f.name}", self.error, self._resolve)

    def _resolve(self, bound: Bound) -> Any:
        return getattr(self, bound) if isinstance(bound, str) else bound


def coerce(f: FieldSpec, value: Any, where: str, error: type[OptionError] = OptionError) -> Any:
    """``value`` in the field's type where it has an obvious reading (YAML text, numpy scalars,
    16.0 from an optimizer, 0/1 for a flag, a list for a tuple); else unchanged, for
    :func:`check` to reject. ``where`` names the value in errors."""
    try:
        if isinstance(value, str) and f.kind is bool:
            if value.lower() not in _TRUE | _FALSE:
                raise ValueError(value)
            return value.lower() in _TRUE
        if isinstance(value, str) and f.kind in (int, float):
            return f.kind(value)
        if isinstance(value, list) and f.kind is tuple:
            return tuple(value)
        if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
            if f.kind is bool and value in (0, 1):
                return bool(value)
            if f.kind is int and float(value).is_integer():
                return int(float(value))
            if f.kind is float and not isinstance(value, int):
                return float(value)  # an int stays an int: it is a valid float, and keys keep it
    except ValueError:
        raise error(f"{where}={value!r}: expected {f.kind.__name__}") from None
    return value


def check(
    f: FieldSpec,
    value: Any,
    where: str,
    error: type[OptionError] = OptionError,
    resolve: Callable[[Bound], Any] = lambda bound: bound,
) -> None:
    """Raise a one-line ``error`` naming ``where`` unless ``value`` is valid for ``f``;
    ``resolve`` turns a bound that names another field into its value."""
    if value is None and f.optional:
        return
    if type(value) not in _ACCEPTED[f.kind]:
        ranged = f.kind is bool or f.spec.choices or (f.spec.low, f.spec.high) != (None, None)
        tail = f"; {allowed(f, resolve)}" if ranged else ""
        raise error(f"{where}={value!r}: expected {f.kind.__name__}{tail}")
    if f.spec.choices:
        if value not in f.spec.choices:
            raise error(f"{where}={value!r}: {allowed(f, resolve)}")
        return
    low, high = resolve(f.spec.low), resolve(f.spec.high)
    below = low is not None and (value <= low if f.spec.open_low else value < low)
    if below or (high is not None and value > high):
        raise error(f"{where}={value!r} out of range: {allowed(f, resolve)}")


def allowed(f: FieldSpec, resolve: Callable[[Bound], Any] = lambda bound: bound) -> str:
    """What field ``f`` accepts, in words (the tail of every error message)."""
    spec = f.spec
    if spec.choices:
        return "one of " + ", ".join(map(str, spec.choices))
    if f.kind is bool:
        return "true or false"
    low, high = resolve(spec.low), resolve(spec.high)
    if low is None and high is None:
        return f"a {f.kind.__name__}"
    named = [b for b in (spec.low, spec.high) if isinstance(b, str)]
    limit = f" ({named[0]}: {spec.note})" if named and spec.note else ""
    if high is None:
        text = f"allowed {'>' if spec.open_low else '>='} {low}"
    elif low is None:
        text = f"allowed <= {high}"
    else:
        text = f"allowed {'(' if spec.open_low else '['}{low}, {high}]"
    return f"{text} {spec.unit}{limit}".rstrip()
