"""A Ctrl-C that a library catches (Ray's waits do) is raised again by the search's loops."""

from __future__ import annotations

import os
import signal

import pytest

from dse.interrupt import latched_interrupts, raise_if_interrupted


def swallowed_ctrl_c() -> None:
    """What a library that turns KeyboardInterrupt into a status of its own does."""
    try:
        os.kill(os.getpid(), signal.SIGINT)  # its handler runs before the next line
        raise AssertionError("SIGINT did not interrupt")
    except KeyboardInterrupt:
        pass


def test_a_swallowed_ctrl_c_is_raised_again_and_forgotten_after_the_block() -> None:
    with latched_interrupts():
        raise_if_interrupted()  # nothing came yet
        swallowed_ctrl_c()
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    raise_if_interrupted()  # the next search starts clean
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
