"""What a user sees: the quickstart end to end, export, the MLflow UI (REST, and a browser on the
page ``dse ui --name`` prints).

One quickstart search (the real ``search_spaces/quickstart.yaml``, a smaller budget: the
arguments recorded with ``tests/data/quickstart_ledger.json``) is shared by every test of this
module.
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from dse.space import load_space
from tests.support.cli import REPO, free_port, read_ledger, rest, run_dse, serving
from tests.support.reference import assert_same_metrics, load

QUICKSTART = REPO / "search_spaces" / "quickstart.yaml"
RECORDED = load("quickstart_ledger.json")


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A finished quickstart search (8 designs) in its own directory; returns it and its stdout."""
    root = tmp_path_factory.mktemp("quickstart")
    result = run_dse(root, "search", str(QUICKSTART), "--name", "qs", "--quiet", *RECORDED["args"])
    return root, result.stdout


def test_quickstart_reproduces_the_recorded_designs_and_metrics(
    quickstart: tuple[Path, str],
) -> None:
    """Designs exactly, metrics within the tolerances of tests/support/reference.py, as
    recorded before the evaluator redesign."""
    root, _ = quickstart
    trials = read_ledger(root, "qs")
    assert len(trials) == len(RECORDED["trials"])
    for trial, recorded in zip(trials, RECORDED["trials"], strict=True):
        where = f"trial {recorded['number']}"
        assert (trial["number"], trial["generation"]) == (
            recorded["number"],
            recorded["generation"],
        )
        assert trial["params"] == recorded["params"], where
        assert trial["status"] == recorded["status"], where
        assert_same_metrics(trial["metrics"], recorded["metrics"], where)


def test_quickstart_prints_the_front_and_exports_a_runnable_knee(
    quickstart: tuple[Path, str],
) -> None:
    root, stdout = quickstart
    assert "search 'qs': 8 designs" in stdout
    assert "Pareto front of quickstart" in stdout
    run_dse(root, "export", "--name", "qs", "--pick", "knee", "--out", "knee")
    out = root / "knee"
    assert {"design.yaml", "model.pt", "hardware.csv", "report.md", "energy.png"} <= {
        p.name for p in out.iterdir()
    }
    model = torch.jit.load(str(out / "model.pt"))
    logits = model(torch.rand(2, 3, 64, 64))
    assert logits.shape == (2, 7, 64, 64)
    rows = (out / "hardware.csv").read_text().splitlines()
    assert rows[0].startswith("layer,module,op,call,macs") and len(rows) > 10
    report = (out / "report.md").read_text()
    assert "Against the digital reference" in report and "mIoU under noise" in report


@pytest.fixture(scope="module")
def ui(quickstart: tuple[Path, str]) -> Iterator[str]:
    """``dse ui --name qs`` serving the quickstart's store (what it printed in ``ui.log``);
    stopped afterwards."""
    root, _ = quickstart
    port = free_port()
    command = [sys.executable, "-m", "dse", "ui", "--name", "qs", "--port", str(port)]
    with serving(command, f"http://127.0.0.1:{port}", cwd=root, output=root / "ui.log") as url:
        yield url


def test_the_ui_serves_the_pareto_runs_and_artifacts(ui: str, quickstart: tuple[Path, str]) -> None:
    root, _ = quickstart
    experiment = rest(ui, "experiments/get-by-name?experiment_name=qs")["experiment"]
    pareto = rest(
        ui,
        "runs/search",
        {"experiment_ids": [experiment["experiment_id"]], "filter": "tags.`dse.pareto` = 'true'"},
    )["runs"]
    front = json.loads(run_dse(root, "front", "--name", "qs", "--format", "json").stdout)
    assert {int(_tag(r, "dse.trial")) for r in pareto} == {r["trial"] for r in front}
    parent = rest(
        ui,
        "runs/search",
        {"experiment_ids": [experiment["experiment_id"]], "filter": "tags.`dse.role` = 'search'"},
    )["runs"][0]
    run_id = parent["info"]["run_id"]
    listed = rest(ui, f"artifacts/list?run_id={run_id}")["files"]
    assert {
        "pareto.html",
        "pareto.png",
        "front.csv",
        "trials.csv",
        "hypervolume.png",
        "space.yaml",
    } <= {f["path"] for f in listed}
    html = urllib.request.urlopen(
        f"{ui}/get-artifact?path=pareto.html&run_uuid={run_id}", timeout=30
    ).read()
    assert b"plotly" in html.lower() and b"Pareto front" in html
    metrics = {m["key"]: m["value"] for m in parent["data"]["metrics"]}
    assert metrics["front_size"] == len(front)


def _tag(run: dict[str, Any], key: str) -> str:
    return next(t["value"] for t in run["data"]["tags"] if t["key"] == key)


def test_a_browser_opens_the_page_dse_ui_prints_on_the_pareto_front(
    ui: str, quickstart: tuple[Path, str]
) -> None:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("Chromium and ChromeDriver are not installed (.ci/run installs Debian's)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    root, _ = quickstart
    printed = (root / "ui.log").read_text().split()
    page = next(word for word in printed if word.startswith(f"{ui}/#/experiments/"))
    front = json.loads(run_dse(root, "front", "--name", "qs", "--format", "json").stdout)
    pareto = {f"trial-{row['trial']:05d}" for row in front}
    objectives = load_space(QUICKSTART).objective_names
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    try:
        chrome.get(page)
        wait = WebDriverWait(chrome, 120)
        wait.until(lambda d: "trial-" in d.find_element("tag name", "body").text)
        body = chrome.find_element("tag name", "body").text
        shot = root / "mlflow-ui.png"
        chrome.save_screenshot(str(shot))
    finally:
        chrome.quit()
    assert "Model training" in body and "Traces overview" not in body
    assert all(name in body for name in objectives), body[:2000]
    listed = [word for word in body.split() if word.startswith("trial-")]
    assert listed[: len(pareto)] and set(listed[: len(pareto)]) == pareto  # the front first
    assert shot.stat().st_size > 10_000
