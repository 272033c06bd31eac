"""The flagship sweep's machinery: several bases, per-base parameters, quick mode, twins in every row (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from sweep_helpers import BASE, ROOT, depin

from models.analysis.twins import twin_ratio
from models.experiments import load, load_sweep, run_sweep
from models.experiments.spec import expected_runs, points
from models.params import ParameterError

FLAGSHIP = ROOT / "params" / "sweeps" / "price_shock.yaml"


def test_the_flagship_spec_crosses_both_sectors_with_their_own_parameters():
    spec = load_sweep(FLAGSHIP)
    pts = points(spec)
    assert expected_runs(spec) == len(pts) * spec.replicates
    by_base = {label: [p for p in pts if p["base"] == label] for label in ("wireless", "storage")}
    assert len(by_base["wireless"]) == len(by_base["storage"]) == len(pts) // 2
    assert {p["emission.halving_period_years"] for p in by_base["wireless"]} == {2.0, 4.0}
    assert all("emission.schedule" not in p for p in by_base["wireless"])
    assert {p["stake.mode"] for p in by_base["storage"]} == {"none", "pledge"}
    quick = load_sweep(FLAGSHIP, quick=True)
    assert quick.name == "price_shock-quick" and quick.steps == 156 and quick.replicates == 2
    assert {p["shocks.0.size"] for p in points(quick)} == {0.5, 0.8, 0.95}
    assert expected_runs(quick) < expected_runs(spec) / 50


def _write(tmp_path, **fields):
    spec = {"name": "multi", "base": {"a": str(BASE), "b": str(BASE)}, "seed": 3, "steps": 80,
            "parameters": {"market.liquidity_usd": {"values": [30000.0, 60000.0]}}}
    spec.update(fields)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(("fields", "message"), [
    ({"base_parameters": {"c": {"providers.opex_usd_per_year": {"values": [100.0]}}}},
     "base_parameters.c: no base is labelled 'c'"),
    ({"base_parameters": {"a": {"market.liquidity_usd": {"values": [1.0]}}}},
     "base_parameters.a.market.liquidity_usd: is swept in parameters already"),
    ({"base_parameters": {"a": {"providers.no_such_field": {"values": [1.0]}}}},
     "base_parameters.a.providers.no_such_field"),
    ({"seed": None}, "seed: a sweep over several bases needs its own root seed"),
    ({"base": {"a": "missing.yaml"}}, "base.a:"),
])
def test_bad_multi_base_specs_name_the_field(tmp_path, fields, message):
    path = _write(tmp_path, **{k: v for k, v in fields.items() if v is not None})
    if fields.get("seed", 1) is None:
        data = yaml.safe_load(path.read_text())
        del data["seed"]
        path.write_text(yaml.safe_dump(data))
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        load_sweep(path)


def test_quick_without_a_quick_block_exits_2(tmp_path):
    result = depin("sweep", str(_write(tmp_path)), "--quick", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert "quick: the sweep has no quick block" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_quick_flagship_sweep_runs_with_twins_and_reruns_to_the_same_numbers(tmp_path):
    root = run_sweep(FLAGSHIP, workers=2, out=tmp_path, quick=True, progress=False)
    results = load(root.name, root.parent)
    summary = results.summary
    assert root.name == "price_shock-quick" and len(summary) == expected_runs(load_sweep(FLAGSHIP, quick=True))
    assert set(summary["base"]) == {"wireless", "storage"}
    assert {"regime", "regime_absolute", "trough", "permanent_loss", "loop_gain", "price_drop_vs_twin"} <= set(summary)
    # a bear market of 95% moves the price against the twin by about that much; one of 50% by about half
    by_size = summary.groupby("shocks.0.size")["price_drop_vs_twin"].median()
    assert by_size[0.95] > 0.85 and 0.3 < by_size[0.5] < 0.7
    # the twin label and the absolute label disagree: the absolute one counts the halvings and the dilution
    assert (summary["regime_absolute"] == "collapse").mean() > (summary["regime"] == "collapse").mean()
    # a stored row is recomputed, with its twin, to the same numbers
    row = summary.iloc[len(summary) // 3]
    frame = results.rerun([row["run_id"]], columns=["providers", "price"])
    ratio = twin_ratio(frame["providers"], frame["twin_providers"])
    assert ratio[-1] == pytest.approx(row["final_ratio"], rel=1e-12)
    assert np.min(ratio[row["pre_shock_step"]:]) == pytest.approx(row["trough"], rel=1e-12)
    table = results.points(by=["base", "shocks.0.size"])
    assert len(table) == 6 and (table["n"] == len(summary) // 6).all()
    critical = results.critical_values("shocks.0.size", by=["base"], n_resamples=50)
    assert set(critical["base"]) == {"wireless", "storage"}


def test_a_monte_carlo_only_sweep_has_one_point_of_replicates(tmp_path):
    path = tmp_path / "mc.yaml"
    path.write_text(yaml.safe_dump({"name": "mc", "base": str(BASE), "seed": 5, "steps": 80, "replicates": 4}))
    spec = load_sweep(path)
    assert points(spec) == [{}] and expected_runs(spec) == 4
    results = load("mc", run_sweep(spec, workers=1, out=tmp_path / "out", progress=False).parent)
    assert len(results.summary) == 4 and results.parameters == []
    assert results.points()["n"].tolist() == [4]
    path.write_text(yaml.safe_dump({"name": "mc", "base": str(BASE), "seed": 5, "sampler": "sobol", "samples": 8}))
    with pytest.raises(ParameterError, match="parameters: sampler sobol needs at least one parameter"):
        load_sweep(path)


@pytest.mark.parametrize(("fields", "message"), [
    ({"quick": {"parameters": {"providers.opex_usd_per_year": {"values": [9.0]}}}},
     "quick.parameters.providers.opex_usd_per_year: the sweep does not sweep it"),
    ({"base_parameters": {"a": {"providers.opex_usd_per_year": {"values": [1.0, 2.0]}}},
      "quick": {"base_parameters": {"b": {"providers.opex_usd_per_year": {"values": [9.0]}}}}},
     "quick.base_parameters.b: the sweep has no base_parameters of that base"),
    ({"base_parameters": {"a": {"providers.opex_usd_per_year": {"low": 1.0, "high": 2.0}}}},
     "base_parameters.a.providers.opex_usd_per_year: sampler grid needs values"),
])
def test_quick_blocks_and_base_parameters_are_validated(tmp_path, fields, message):
    with pytest.raises(ParameterError, match=message):
        load_sweep(_write(tmp_path, **fields), quick="quick" in fields)
