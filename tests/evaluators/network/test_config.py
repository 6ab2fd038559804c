"""evaluators.network.config: the arch.* parameters and their one-line errors."""

from __future__ import annotations

from typing import Any

import pytest

from evaluators.network import NetworkConfig, NetworkConfigError, StageConfig, build_network
from tests.support.network import NUM_CLASSES

pytestmark = pytest.mark.usefixtures("one_thread")


def test_from_params_reads_arch_keys_and_ignores_others() -> None:
    config = NetworkConfig.from_params(
        {
            "arch.width": 24.0,  # integral floats, as some optimisers produce, are fine
            "arch.expansion": 6,
            "arch.kernel_size": 5,
            "arch.block": "ghost",
            "arch.stage2.block": "depthwise",
            "arch.iterations": 2,
            "arch.stage3.iterations": 4,
            "arch.anytime": True,
            "hw.bits": 4,
            "hw.array_size": 16,
        }
    )
    assert config.width == 24 and config.stage_widths == (24, 48, 96)
    assert config.stages == (
        StageConfig("ghost", 2),
        StageConfig("depthwise", 2),
        StageConfig("ghost", 4),
    )
    assert config.anytime and config.downsampling == 16
    assert NetworkConfig.from_params(config.to_params()) == config
    assert NetworkConfig.from_params({}) == NetworkConfig()


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        ({"arch.depth": 3}, ("arch.depth: unknown parameter; known: arch.width",)),
        ({"arch.width": 100}, ("arch.width=100 out of range", "allowed [4, 64]")),
        ({"arch.width": 8.5}, ("arch.width=8.5: expected int",)),
        ({"arch.stage2.iterations": 0}, ("arch.stage2.iterations=0 out of range", "[1, 4]")),
        ({"arch.stage1.block": "dense"}, ("arch.stage1.block='dense': one of standard",)),
        ({"arch.kernel_size": 4}, ("arch.kernel_size=4: one of 3, 5",)),
        ({"arch.anytime": "maybe"}, ("arch.anytime='maybe': expected bool",)),
    ],
)
def test_bad_params_fail_in_one_line(params: dict[str, Any], fragments: tuple[str, ...]) -> None:
    with pytest.raises(NetworkConfigError) as error:
        build_network(params, NUM_CLASSES)
    message = str(error.value)
    assert "\n" not in message
    assert all(fragment in message for fragment in fragments), message
