"""evaluators.data.registry: dataset kinds by name and the checked image size."""

from __future__ import annotations

import pytest

from evaluators.data import DATASETS, DataError, load_dataset
from tests.support.data import assert_one_line

pytestmark = pytest.mark.usefixtures("one_thread")


def test_unknown_dataset_and_bad_size() -> None:
    with pytest.raises(DataError) as error:
        load_dataset("imagenet")
    assert_one_line(error, "'imagenet'", "synthetic")
    with pytest.raises(DataError) as error:
        load_dataset("synthetic", image_size=(64,))  # type: ignore[arg-type]
    assert_one_line(error, "image_size")
    assert {"synthetic", "camvid", "folder"} <= set(DATASETS)
