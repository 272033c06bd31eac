"""Notebook 05 (history against the model) executes in the site build on the saved calibrations."""

from __future__ import annotations

import pytest
from notebook_helpers import figures, markdown

from models.calibration import history_check, sectors


@pytest.mark.xdist_group("site")
def test_history_notebook_runs(site_build):
    outs = site_build.outputs("05_history.ipynb")
    assert figures(outs) >= 4
    text = "".join(markdown(outs))
    assert "**Helium.**" in text and "**wireless**" in text  # the prose and the findings are rendered


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
