"""Notebook 05 (history against the model) executes from a clean state on the saved calibrations."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill

from models.calibration import history_check, sectors

ROOT = Path(__file__).resolve().parents[1]


def test_history_notebook_runs(tmp_path):
    out = tmp_path / "05.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "05_history.ipynb"), str(out), kernel_name="python3",
                               cwd=str(tmp_path), progress_bar=False)
    executed = nbformat.read(out, as_version=4)
    outs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outs) >= 4
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in outs)
    assert "**Helium.**" in text and "Findings" not in text  # findings are rendered, not the heading


def test_every_calibrated_sector_has_a_saved_fit_that_matches_its_file():
    for sector in history_check.calibrated_sectors():
        saved = sectors.read_result(sector)
        scenario = sectors.FITS[sector].scenario()
        for row in saved["posterior"]:
            block, key = row["parameter"].rsplit(".", 1)
            value = getattr(getattr(scenario, block), key)
            assert abs(value / row["point"] - 1) < 1e-3, (sector, row["parameter"], value, row["point"])
        assert saved["fit_window"] == list(sectors.FITS[sector].fit)


def test_uncalibrated_sectors_check_their_issuance():
    frame = history_check.emission_check("ai")
    assert {"issued_data", "issued_model", "providers_data", "providers_model"} <= set(frame.columns)
    assert len(frame) > 24
