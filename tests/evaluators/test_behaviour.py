"""The evaluator behaves as it did before the redesign of its fidelities and scoring.

``tests/data/evaluator_reference.json`` was recorded through the evaluator protocol (prepare,
setup, evaluate, export) before the change; the same calls must give the same metrics at both
fidelities, and export the same report (tolerances: ``tests/support/reference.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dse.evaluator import clean_metrics, prepare_options, setup_evaluator
from tests.support.reference import assert_same_metrics, assert_same_report, load, report_table

TARGET = "evaluators.photonic_segmentation:PhotonicSegmentationEvaluator"
REFERENCE = load("evaluator_reference.json")


@pytest.mark.parametrize("fidelity", ["supernet", "standalone"])
def test_metrics_and_export_match_the_recorded_behaviour(
    fidelity: str, tmp_path: Path, one_thread: None
) -> None:
    options = REFERENCE["recipes"][fidelity]
    prepared = prepare_options(TARGET, options, tmp_path / "cache", REFERENCE["domains"])
    evaluator = setup_evaluator(TARGET, prepared)
    for index, (design, recorded) in enumerate(
        zip(REFERENCE["designs"], REFERENCE[fidelity], strict=True)
    ):
        measured = clean_metrics(evaluator.evaluate(dict(design)))
        assert_same_metrics(measured, recorded, f"{fidelity} design {index}")
    evaluator.export(dict(REFERENCE["designs"][0]), tmp_path / "export")  # type: ignore[attr-defined]
    report = (tmp_path / "export" / "report.md").read_text()
    assert_same_report(report_table(report), REFERENCE[f"{fidelity}_report"])
