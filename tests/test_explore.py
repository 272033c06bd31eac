"""The explorer (models/analysis/explore.py, notebooks/10_explore.ipynb) and the SolaraViz page (models/abm/viz.py).

Cheap: 40-step horizons on the batch engine; the viz page is rendered in process and served once by
``solara run`` on a free local port.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import free_port

from models.analysis import explore
from models.analysis.loop import SHOCKED, TWIN
from models.params import ParameterError, load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[1]
STEPS = 40
QUICK = explore.Choice(steps=STEPS, start_day=70.0)  # a bear market on day 70 (step 10) of wireless


def dump_without(scenario, *keys):
    data = scenario.model_dump(mode="json")
    for key in keys:
        data.pop(key)
    return data


def test_scenario_from_controls_is_validated_and_carries_the_choice():
    choice = explore.Choice(sector="compute", shock="price_crash", size=0.5, start_day=84.0, liquidity=0.1,
                            payment="bme", burn_share=0.4, schedule="halving", pledge_days=30.0, steps=STEPS, seed=7)
    shocked, twin = explore.scenario_for(choice)
    own = explore.sector_scenario("compute")
    assert shocked.market.liquidity_target_share == 0.1
    assert (shocked.payment.mode, shocked.payment.burn_share) == ("bme", 0.4)
    assert shocked.emission.schedule == "halving"
    assert shocked.emission.initial_tokens_per_year == own.emission.initial_tokens_per_year
    assert (shocked.stake.mode, shocked.stake.pledge_reward_days) == ("pledge", 30.0)
    assert (shocked.simulation.steps, shocked.simulation.seed) == (STEPS, 7)
    (shock,) = shocked.shocks
    assert (shock.type, shock.size, shock.start_day) == ("price_crash", 0.5, 84.0)
    # the twin: same scenario and seed, the forced seller holds the same tokens but never sells
    assert dump_without(twin, "shocks") == dump_without(shocked, "shocks")
    assert [(s.type, s.size, s.inventory_tokens) for s in twin.shocks] == [("price_crash", 0.0, shock.inventory_tokens)]


def test_controls_at_the_sector_values_leave_the_sector_file_alone():
    for sector in explore.SECTORS:
        own = explore.sector_defaults(sector)
        levers = {k: own[k] for k in ("liquidity", "payment", "burn_share", "schedule", "pledge_days")}
        choice = explore.Choice(sector=sector, shock="none", steps=STEPS, **levers)
        assert explore.overrides_for(choice) == {"simulation.steps": STEPS}
        # the same run as leaving the levers unset, so it is computed once
        assert explore._key(choice) == explore._key(explore.Choice(sector=sector, shock="none", steps=STEPS))
        shocked, twin = explore.scenario_for(choice)
        assert shocked is twin and shocked.shocks == ()
        path = ROOT / "params" / "sectors" / f"{sector}.yaml"
        file = with_overrides(load_scenario(path), {"simulation.steps": STEPS})
        assert dump_without(shocked, "name") == dump_without(file, "name")


def test_schedule_switch_keeps_the_issuance_rate_at_step_zero():
    wireless = explore.sector_scenario("wireless")
    decay = with_overrides(wireless, explore.schedule_overrides(wireless, "exponential_decay"))
    rate = decay.emission.decay_total_tokens * math.log(2) / decay.emission.half_life_years
    assert rate == pytest.approx(wireless.emission.initial_tokens_per_year)
    baseline = with_overrides(wireless, explore.schedule_overrides(wireless, "baseline"))
    assert baseline.emission.baseline_initial_capacity == 100 * wireless.providers.capacity_per_provider


def test_impossible_choices_raise_one_line_errors():
    with pytest.raises(ValueError, match="sector 'mars'"):
        explore.scenario_for(explore.Choice(sector="mars", steps=STEPS))
    with pytest.raises(ParameterError, match=r"^<bear_market>: size: .*allowed: >= 0 and < 1") as err:
        explore.scenario_for(explore.Choice(size=1.5, steps=STEPS))  # a bear market is a fraction below 1
    assert "\n" not in str(err.value)
    with pytest.raises(ParameterError, match="stake.mode: the 100 initial providers lock"):
        explore.scenario_for(explore.Choice(pledge_days=1e6, steps=STEPS))  # more than the outside float


def test_pair_shares_everything_until_the_shock():
    for shock in ("bear_market", "price_crash"):
        choice = explore.Choice(shock=shock, size=0.6, start_day=70.0, steps=STEPS)
        frame = explore.run_pair(choice)
        verdict = explore.judge(frame, choice)
        first = verdict["effect_step"]
        assert first == 11  # day 70 is step 10, which shows in row 11
        shocked = frame[frame["variant"] == SHOCKED].drop(columns="variant").reset_index(drop=True)
        twin = frame[frame["variant"] == TWIN].drop(columns="variant").reset_index(drop=True)
        numeric = [c for c in shocked.columns if c not in ("date",) and shocked[c].dtype.kind in "fiu"]
        before, after = shocked.loc[: first - 1, numeric], twin.loc[: first - 1, numeric]
        assert np.array_equal(before.to_numpy(), after.to_numpy(), equal_nan=True), shock
        assert not np.allclose(shocked.loc[first:, "price"], twin.loc[first:, "price"]), shock
        assert verdict["regime"] in ("collapse", "recovery", "growth", "stall")


def test_no_shock_is_its_own_twin():
    choice = explore.Choice(shock="none", steps=STEPS)
    frame = explore.run_pair(choice)
    shocked = frame[frame["variant"] == SHOCKED].drop(columns="variant").reset_index(drop=True)
    twin = frame[frame["variant"] == TWIN].drop(columns="variant").reset_index(drop=True)
    assert shocked.equals(twin)
    assert explore.judge(frame, choice)["shock"] is False


def test_draw_labels_axes_with_units_and_states_the_regime():
    from models.analysis.explore_figures import figure_png

    frame = explore.run_pair(QUICK)
    verdict = explore.judge(frame, QUICK)
    fig = explore.draw(frame, QUICK, verdict)
    axes = fig.explore_axes
    assert [ax.get_ylabel() for ax in axes] == ["token price (USD/token)", "active providers (count)",
                                                "users (count)", "capacity (1,000 packets/day)"]
    assert all(ax.get_xlabel().startswith("date") for ax in axes[2:])
    assert f"{verdict['regime']} against the twin" in fig._suptitle.get_text()
    shocked_line = fig.explore_lines[("providers", SHOCKED)]
    np.testing.assert_array_equal(shocked_line.get_ydata(), frame.loc[frame["variant"] == SHOCKED, "providers"])
    assert figure_png(fig).startswith(b"\x89PNG")
    # drawing again into the same figure moves the same lines to the new data
    other = explore.Choice(sector="sensor", shock="none", steps=STEPS)
    again = explore.draw(explore.run_pair(other), other, explore.judge(explore.run_pair(other), other), fig=fig)
    assert again is fig and fig.explore_lines[("providers", SHOCKED)] is shocked_line
    assert axes[3].get_ylabel() == "capacity (km of imagery/day)"
    assert "no shock" in fig._suptitle.get_text()


def test_changing_a_widget_reruns_and_redraws():
    ui = explore.explorer(QUICK)
    assert len(ui.timings) == 1 and bytes(ui.image.value).startswith(b"\x89PNG")
    first_png, first_verdict = bytes(ui.image.value), ui.verdict
    ui.controls["shock"].value = "price_crash"
    assert len(ui.timings) == 2 and ui.timings[-1]["control"] == "shock" and not ui.timings[-1]["error"]
    assert ui.choice.shock == "price_crash" and bytes(ui.image.value) != first_png
    assert ui.verdict is not first_verdict and ui.verdict["regime"] in ui.status.value
    # a sector change resets the levers to that sector's own values and re-runs once
    ui.controls["sector"].value = "storage"
    assert len(ui.timings) == 3
    assert (ui.controls["payment"].value, ui.controls["pledge_days"].value) == ("fee", 20.0)
    assert ui.controls["burn_share"].disabled
    assert ui.choice.sector == "storage" and explore.overrides_for(ui.choice) == {"simulation.steps": STEPS}
    # a choice the scenario cannot take says why and keeps the last figure and choice
    shown, last = bytes(ui.image.value), ui.choice
    ui.controls["size"].value = 0.95  # storage cannot fund a 95% forced sale from its genesis supply
    assert len(ui.timings) == 4 and "token.initial_supply" in ui.timings[-1]["error"]
    assert "cannot run this choice" in ui.status.value
    assert bytes(ui.image.value) == shown and ui.choice is last


# --- the Mesa SolaraViz page ------------------------------------------------------------------------------


def test_viz_page_renders_and_steps_the_abm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # solara's hook check warns about mesa's own component
        import ipyvuetify
        import ipywidgets
        import solara

        from models.abm import viz
    model = viz.VizModel(scenario="base", potential_providers=200, steps=3)
    assert model.space is model.coverage.space and len(model.space.agents) == 200 + 1000
    box, rc = solara.render(solara.AppLayout(children=[viz.make_page(model)]), handle_error=False)
    try:
        assert len(rc.find(ipywidgets.Image).widgets) == 3  # space map, price, providers
        rc.find(ipyvuetify.Btn, children=["Step"]).widget.click()
        assert model.steps == 1
        data = model.datacollector.get_model_vars_dataframe()
        assert list(data["active providers"]) == [float(model.rows[0]["providers"][0]),
                                                  float(model.rows[1]["providers"][0])]
    finally:
        rc.close()
    for _ in range(5):
        model.step()
    assert model.steps == 6 and not model.running and len(model.rows) == 4  # one click, five calls: stops at 3


def test_solara_server_serves_the_page():
    port = free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    solara_bin = Path(sys.executable).with_name("solara")
    proc = subprocess.Popen([str(solara_bin), "run", "models/abm/viz.py", "--host", "127.0.0.1", "--port", str(port),
                             "--no-open"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, status, html = time.monotonic() + 90, None, ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    status, html = response.status, response.read().decode("utf-8", "replace")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        # a viz module that fails to import makes the server exit before it serves anything
        assert proc.poll() is None, proc.stdout.read().decode("utf-8", "replace")[-2000:]
        assert status == 200
        assert 'id="app"' in html and "solara-main" in html
        # the page's scripts come from the server itself (solara-assets), not from a CDN the machine cannot reach
        script = re.search(r'src="([^"]*/_solara/cdn/[^"]+\.js)"', html)
        assert script, "the page loads no script through the server's asset path"
        url = script.group(1) if script.group(1).startswith("http") else f"http://127.0.0.1:{port}{script.group(1)}"
        with urllib.request.urlopen(url, timeout=20) as response:
            assert response.status == 200 and len(response.read()) > 1000
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode is not None
    with pytest.raises(OSError):  # nothing listens on the port any more
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
