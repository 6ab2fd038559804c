"""evaluators.registry: a name registers once; a lookup failure reads like an option error."""

from __future__ import annotations

import pytest

from evaluators.options import OptionError
from evaluators.registry import Registry


def test_register_lookup_and_refuse_a_second_registration() -> None:
    shapes: Registry[int] = Registry("shape")
    shapes.register("square")(4)
    assert shapes.lookup("square", OptionError, "shape") == 4
    with pytest.raises(ValueError, match="shape 'square' registered twice"):
        shapes.register("square")(5)
    assert shapes["square"] == 4
    with pytest.raises(OptionError, match=r"^shape='circle': one of square$"):
        shapes.lookup("circle", OptionError, "shape")
