"""Validation is a wall: a corpus of malformed scenarios and sweep specs, each refused with one line.

Every file under ``tests/corpus/scenarios`` and ``tests/corpus/sweeps`` starts with ``# expect: NEEDLE``:
a dotted field path that must label a problem in the message (``path: problem``), ``line N`` for a YAML
syntax error (``FILE:N:COL: problem``), or other text that must appear. Each file goes through the CLI
in-process (``validate`` and ``run`` for scenarios, ``sweep`` for specs): exit 2, exactly one line on
stderr naming the file, nothing on stdout, no traceback, nothing written.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from models.cli import main
from models.experiments.spec import MAX_SWEEP_RUNS, base_scenario, expected_runs, load_sweep, points
from models.mechanisms.amm import price_ratio_after_sale, tokens_for_price_drop
from models.params import (
    MAX_ABM_AGENTS,
    SAFE_NAME_PATTERN,
    ParameterError,
    check_engine_limits,
    load_scenario,
    read_yaml,
    scenario_from_dict,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
SCENARIOS = sorted((CORPUS / "scenarios").glob("*.yaml"))
SWEEPS = sorted((CORPUS / "sweeps").glob("*.yaml"))
BASE = ROOT / "params" / "base.yaml"
CRASH = ROOT / "params" / "base_crash.yaml"


def needle_of(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), f"{path}: first line must be '# expect: NEEDLE'"
    return first.removeprefix("# expect: ").strip()


def check_message(message: str, source: Path | str, needle: str) -> None:
    """One line that names ``source`` and, after it, the needle in its proper place."""
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message
    source = str(source)
    assert source in message, f"file not named: {message}"
    rest = message.split(source, 1)[1]
    line = re.fullmatch(r"line (\d+)", needle)
    if line:
        assert re.match(rf":{line.group(1)}:\d+: \S", rest), f"expected {source}:{line.group(1)}:COL: in {message}"
    elif re.fullmatch(r"[\w.]+", needle):
        assert re.search(rf"(^|[ ;]){re.escape(needle)}: \S", rest), f"expected '{needle}: problem' in {message}"
    else:
        assert needle in rest, f"expected {needle!r} in {message}"


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def assert_refused(argv: list[str], source: Path | str, needle: str, tmp_path: Path, capsys) -> None:
    """Run the CLI in-process; exit 2, one line on stderr naming the file and needle, nothing written."""
    before_tmp, before_corpus = listing(tmp_path), listing(CORPUS)
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    assert captured.err.endswith("\n") and captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("error: ")
    check_message(captured.err.rstrip("\n"), source, needle)
    assert listing(tmp_path) == before_tmp, "something was written under the working directory"
    assert listing(CORPUS) == before_corpus, "something was written in the corpus"


# --- the committed corpus -------------------------------------------------------------------------------


def test_corpus_is_large_and_distinct():
    assert len(SCENARIOS) >= 45 and len(SWEEPS) >= 22
    bodies = [p.read_bytes().split(b"\n", 2)[2] for p in SCENARIOS + SWEEPS]
    assert len(set(bodies)) == len(bodies), "two corpus files hold the same YAML"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario_corpus_is_refused_by_the_loader(path):
    with pytest.raises(ParameterError) as info:
        load_scenario(path)
    check_message(str(info.value), path, needle_of(path))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario_corpus_validate(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert_refused(["validate", str(path)], path, needle_of(path), tmp_path, capsys)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario_corpus_run(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert_refused(["run", str(path), "--out", str(tmp_path / "out")], path, needle_of(path), tmp_path, capsys)


@pytest.mark.parametrize("path", SWEEPS, ids=[p.name for p in SWEEPS])
def test_sweep_corpus_is_refused_by_the_loader(path):
    with pytest.raises(ParameterError) as info:
        load_sweep(path)
    check_message(str(info.value), path, needle_of(path))


@pytest.mark.parametrize("path", SWEEPS, ids=[p.name for p in SWEEPS])
def test_sweep_corpus_sweep(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert_refused(["sweep", str(path), "--out", str(tmp_path / "out")], path, needle_of(path), tmp_path, capsys)


def test_sweep_corpus_bases_resolve():
    """Corpus specs that point at the shipped scenarios reach them from tests/corpus/sweeps/."""
    for path in SWEEPS:
        text = path.read_text()
        for base in re.findall(r"^base: (\S+/params/base\w*\.yaml)$", text, flags=re.M):
            assert (path.parent / base).resolve().is_file(), f"{path.name}: {base}"


# --- inputs made at run time: empty, directories, symlink loops, encodings, devices -------------------


def _scenario_inputs(d: Path) -> dict[str, tuple[Path, str]]:
    (d / "empty.yaml").write_bytes(b"")
    (d / "blank.yaml").write_text("\n   \n\n")
    (d / "utf16.yaml").write_bytes("name: base\n".encode("utf-16"))
    (d / "binary.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (d / "nul.yaml").write_text("name: base\nsector: wire\x00less\n")
    (d / "a_directory.yaml").mkdir()
    (d / "loop.yaml").symlink_to(d / "loop.yaml")
    (d / "dangling.yaml").symlink_to(d / "nowhere.yaml")
    os.mkfifo(d / "fifo.yaml")
    (d / "dup_deep.yaml").write_text("shocks:\n  - type: price_crash\n    start_day: 364\n    start_day: 420\n")
    return {
        "empty": (d / "empty.yaml", "file is empty"),
        "blank": (d / "blank.yaml", "file is empty"),
        "utf16": (d / "utf16.yaml", "not UTF-8"),
        "binary": (d / "binary.yaml", "not UTF-8"),
        "nul": (d / "nul.yaml", "line 2"),
        "directory": (d / "a_directory.yaml", "is a directory"),
        "symlink_loop": (d / "loop.yaml", "symbolic link loop"),
        "dangling_symlink": (d / "dangling.yaml", "file not found"),
        "missing": (d / "missing.yaml", "file not found"),
        "fifo": (d / "fifo.yaml", "not a regular file"),
        "dup_deep": (d / "dup_deep.yaml", "shocks.0.start_day"),
    }


RUNTIME_SCENARIOS = ["empty", "blank", "utf16", "binary", "nul", "directory", "symlink_loop", "dangling_symlink",
                     "missing", "fifo", "dup_deep"]


@pytest.mark.parametrize("case", RUNTIME_SCENARIOS)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_runtime_scenario_inputs(case, command, tmp_path, monkeypatch, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    path, needle = _scenario_inputs(inputs)[case]
    monkeypatch.chdir(tmp_path)
    argv = ["validate", str(path)] if command == "validate" else ["run", str(path), "--out", str(tmp_path / "o")]
    assert_refused(argv, path, needle, tmp_path, capsys)


RUNTIME_SWEEPS = {
    "spec_directory": ("dir", "is a directory"),
    "spec_symlink_loop": ("loop", "symbolic link loop"),
    "spec_not_utf8": ("latin1", "not UTF-8"),
    "spec_empty": ("empty", "file is empty"),
    "spec_missing": ("missing", "file not found"),
    "base_symlink_loop": ("base_loop", "base"),
    "base_dangling": ("base_dangling", "base"),
    "base_absolute_directory": ("base_absdir", "base"),
}


def _sweep_input(d: Path, kind: str) -> Path:
    spec = {"name": "rt", "base": str(BASE), "parameters": {"market.liquidity_usd": {"values": [25000.0]}}}
    path = d / f"{kind}.yaml"
    if kind == "dir":
        path.mkdir()
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "latin1":
        path.write_bytes(b"name: r\xe9seau\nbase: x.yaml\n")
    elif kind == "empty":
        path.write_text("")
    elif kind == "base_loop":
        (d / "loop_base.yaml").symlink_to(d / "loop_base.yaml")
        path.write_text(yaml.safe_dump({**spec, "base": "loop_base.yaml"}))
    elif kind == "base_dangling":
        (d / "gone.yaml").symlink_to(d / "never.yaml")
        path.write_text(yaml.safe_dump({**spec, "base": "gone.yaml"}))
    elif kind == "base_absdir":
        path.write_text(yaml.safe_dump({**spec, "base": str(ROOT / "params")}))
    return path


@pytest.mark.parametrize("case", sorted(RUNTIME_SWEEPS))
def test_runtime_sweep_inputs(case, tmp_path, monkeypatch, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    kind, needle = RUNTIME_SWEEPS[case]
    path = _sweep_input(inputs, kind)
    monkeypatch.chdir(tmp_path)
    assert_refused(["sweep", str(path), "--out", str(tmp_path / "out")], path, needle, tmp_path, capsys)


def test_permission_denied_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "secret.yaml"
    path.write_text("name: base\n")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ParameterError, match="permission denied"):
        read_yaml(path)


# --- a few through a real process: no traceback ever reaches the terminal -------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "scenarios/dup_simulation_block.yaml"],
        ["validate", "scenarios/syntax_tab_indent.yaml"],
        ["run", "scenarios/nan_capex.yaml"],
        ["sweep", "sweeps/name_dotdot.yaml"],
        ["sweep", "sweeps/samples_1e12.yaml"],
    ],
    ids=["duplicate", "tab", "nan-run", "sweep-dotdot", "sweep-1e12"],
)
def test_subprocess_one_line_no_traceback(argv, tmp_path):
    path = CORPUS / argv[1]
    before = listing(CORPUS)
    result = subprocess.run([sys.executable, "-m", "models.cli", argv[0], str(path), "--out", str(tmp_path / "o")]
                            if argv[0] != "validate" else [sys.executable, "-m", "models.cli", *argv[:1], str(path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    check_message(result.stderr.rstrip("\n"), path, needle_of(path))
    assert list(tmp_path.iterdir()) == [] and listing(CORPUS) == before


# --- what must still be accepted --------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted((ROOT / "params").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_scenarios_validate(path, capsys):
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"ok: {path}"


@pytest.mark.parametrize("path", sorted((ROOT / "params" / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_sweeps_validate(path):
    spec = load_sweep(path)
    assert isinstance(spec.seed, int) and expected_runs(spec) <= MAX_SWEEP_RUNS


def test_exponent_strings_still_read_as_numbers(tmp_path):
    """YAML 1.1 leaves 1e3 (no dot) as text; integer and float fields still take it."""
    path = tmp_path / "exp.yaml"
    path.write_text("name: exp\nsimulation: {steps: 1e3, potential_users: 5e3, seed: 1_000}\n"
                    "token: {initial_supply: 2e7}\nmarket: {liquidity_usd: 2E5}\n")
    sc = load_scenario(path)
    assert sc.simulation.steps == 1000 and isinstance(sc.simulation.steps, int)
    assert sc.simulation.potential_users == 5000 and sc.simulation.seed == 1000
    assert sc.token.initial_supply == 2e7 and sc.market.liquidity_usd == 2e5
    with pytest.raises(ParameterError, match=r"simulation\.steps: Input should be a whole number"):
        scenario_from_dict({"simulation": {"steps": "2.5e0"}}, "x")


def test_valid_scenario_with_anchors_and_merge_keys(tmp_path):
    """Merge keys may be overridden by explicit keys: that is not a duplicate."""
    path = tmp_path / "merge.yaml"
    path.write_text("name: merged\nmarket: {liquidity_usd: 50000}\n"
                    "shocks:\n  - &first {type: price_crash, start_day: 364, size: 0.8, inventory_tokens: 2000000}\n"
                    "  - {<<: *first, start_day: 560, size: 0.5}\n")
    sc = load_scenario(path)
    assert [(s.start_day, s.size, s.inventory_tokens) for s in sc.shocks] == [(364, 0.8, 2e6), (560, 0.5, 2e6)]


def test_duplicate_key_message_names_key_and_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("name: d\nsimulation:\n  steps: 100\n  seed: 1\n  steps: 200\n")
    with pytest.raises(ParameterError) as info:
        read_yaml(path)
    assert str(info.value) == (f"{path}: simulation.steps: duplicate key, given at line 3 and again at line 5 "
                               "(each key may appear once in a mapping; YAML would silently keep the last)")


def test_messages_are_one_line_even_with_newlines_in_input():
    with pytest.raises(ParameterError) as info:
        scenario_from_dict({"providers": {"bad\nkey": 1}, "payment": {"mode": "a\nb"}}, "multi\nline.yaml")
    assert "\n" not in str(info.value) and "providers.bad\\nkey: unknown key" in str(info.value)
    assert str(ParameterError("a\nb\r\nc\u2028d")) == "a\\nb\\r\\nc\\u2028d"


def test_several_problems_on_one_line_with_real_paths():
    with pytest.raises(ParameterError) as info:
        scenario_from_dict({"simulation": {"potential_users": 100, "potential_providers": 10},
                            "users": {"initial_users": 90}, "providers": {"initial_active": 20}}, "f.yaml")
    message = str(info.value)
    assert message.startswith("f.yaml: users.initial_users: ") and "; providers.initial_active: " in message


def test_safe_name_pattern():
    for ok in ["base", "base_crash", "a.b-c", "_x", "-x", "9", "a" * 128]:
        assert re.fullmatch(SAFE_NAME_PATTERN, ok)
    for bad in ["", ".", "..", ".x", "a/b", "/abs", "a\\b", "a b", "a" * 129, "é"]:
        assert not re.fullmatch(SAFE_NAME_PATTERN, bad)


# --- Economy v2 rules: a crash its seller can deliver, the horizon in days, who holds tokens -------------


def _crash(liquidity_usd: float, size: float, inventory: float) -> dict:
    return {"market": {"initial_price_usd": 0.04, "liquidity_usd": liquidity_usd, "fee": 0.003},
            "shocks": [{"type": "price_crash", "start_day": 364, "size": size, "actor": "fund",
                        "inventory_tokens": inventory}]}


@pytest.mark.parametrize(("liquidity_usd", "size"), [(50e3, 0.8), (200e3, 0.5), (10e3, 0.95)])
def test_crash_needs_an_inventory_that_reaches_its_size(liquidity_usd, size):
    """Exactly the tokens that push the genesis pool down by ``size`` is enough; 1% less is refused."""
    pool = liquidity_usd / 0.04
    needed = float(tokens_for_price_drop(pool, size, 0.003))
    assert float(price_ratio_after_sale(pool, needed, 0.003)) == pytest.approx(1 - size)
    assert scenario_from_dict(_crash(liquidity_usd, size, needed), "ok.yaml").shocks[0].actor_name == "fund"
    with pytest.raises(ParameterError) as info:
        scenario_from_dict(_crash(liquidity_usd, size, 0.99 * needed), "short.yaml")
    message = str(info.value)
    assert message.startswith(f"short.yaml: shocks.0.inventory_tokens: price_crash of size {size:g} by 'fund' ")
    assert f"(allowed: inventory_tokens >= {needed:,.0f}, or a smaller size)" in message and "\n" not in message


def test_a_deeper_pool_needs_a_larger_inventory():
    """The base crash's 2.5 M tokens crash a 50,000 USD pool by 80%, not one four times deeper."""
    scenario_from_dict(_crash(50e3, 0.8, 2.5e6), "x")
    with pytest.raises(ParameterError, match=r"^x: shocks\.0\.inventory_tokens: .* enough for a drop of 0\.555 "):
        scenario_from_dict(_crash(200e3, 0.8, 2.5e6), "x")


def test_horizon_is_steps_times_dt_days():
    shock = {"type": "demand_drop", "start_day": 300, "size": 0.4, "duration_days": 30}
    assert scenario_from_dict({"simulation": {"steps": 260}, "shocks": [shock]}, "x").horizon_days == 1820
    scenario_from_dict({"simulation": {"steps": 43, "dt_days": 7}, "shocks": [shock]}, "x")  # 301 days
    scenario_from_dict({"simulation": {"steps": 301, "dt_days": 1}, "shocks": [shock]}, "x")
    for sim in [{"steps": 260, "dt_days": 1}, {"steps": 300, "dt_days": 1}, {"steps": 42, "dt_days": 7}]:
        with pytest.raises(ParameterError, match=r"^x: shocks\.0\.start_day: day 300 is beyond the horizon of"):
            scenario_from_dict({"simulation": sim, "shocks": [shock]}, "x")
    jittered = {**shock, "start_jitter_days": 60}  # may start on day 360
    scenario_from_dict({"simulation": {"steps": 361, "dt_days": 1}, "shocks": [jittered]}, "x")
    with pytest.raises(ParameterError, match=r"^x: shocks\.0\.start_jitter_days: .* jitter < 50\)$"):
        scenario_from_dict({"simulation": {"steps": 350, "dt_days": 1}, "shocks": [jittered]}, "x")


@pytest.mark.parametrize("kind", ["liquidity_drain", "unlock_cliff", "demand_drop", "cost_spike", "bear_market"])
def test_only_trading_shocks_hold_an_inventory(kind):
    shock = {"type": kind, "start_day": 364, "size": 0.3}
    scenario_from_dict({"shocks": [shock]}, "x")
    with pytest.raises(ParameterError, match=rf"^x: shocks\.0\.inventory_tokens: {kind} has no trading actor"):
        scenario_from_dict({"shocks": [{**shock, "inventory_tokens": 1000.0}]}, "x")


def test_shock_inventories_come_out_of_the_initial_supply():
    path = {"type": "price_path", "start_day": 70, "path": [1.0, 0.5], "inventory_tokens": 6e6}
    assert scenario_from_dict({"shocks": [path]}, "x").shocks[0].actor_name == "arbitrageur"
    # vesting 3.5 M + pool 5 M + speculators 0.5 M + two arbitrageurs' 12 M > 20 M
    with pytest.raises(ParameterError) as info:
        scenario_from_dict({"shocks": [path, {**path, "start_day": 400}]}, "x")
    assert str(info.value).startswith("x: token.initial_supply: 20,000,000 tokens is smaller than")
    assert str(info.value).endswith("shock-actor tokens (allowed: >= 21,000,000)")


@pytest.mark.parametrize("policy", ["hold", "buyback_burn", "add_liquidity"])
def test_treasury_policies(policy):
    assert scenario_from_dict({"treasury": {"policy": policy}}, "x").treasury.policy == policy


V1_FIELDS = {  # per-step schema (before Economy v2) -> the suggestion, where the rename is plain
    "emission.initial_tokens_per_step": "initial_tokens_per_year",
    "emission.halving_period_steps": "halving_period_years",
    "providers.opex_usd_per_step": "opex_usd_per_year", "providers.lead_time_steps": "lead_time_days",
    "providers.exit_patience_steps": "exit_patience_days", "providers.exit_rate_when_unprofitable": None,
    "providers.hardware_lifetime_steps": "hardware_lifetime_years",
    "providers.payback_threshold_steps": "payback_threshold_years",
    "providers.entry_max_rate": "entry_max_rate_per_year",
    "providers.price_expectation_adaptation": None, "users.bass_innovation": "bass_innovation_per_year",
    "users.bass_imitation": "bass_imitation_per_year", "users.base_churn": "base_churn_per_year",
    "users.quality_churn": "quality_churn_per_year", "speculators.max_order_share": None,
    "speculators.revenue_multiple_years": None, "speculators.fitness_memory": None,
    "speculators.sentiment_persistence": None, "speculators.sentiment_sigma": None,
    "regimes.reference_step": "reference_day", "regimes.recovery_window_steps": "recovery_window_days",
}


@pytest.mark.parametrize("dotted", sorted(V1_FIELDS))
def test_per_step_fields_of_the_old_schema_are_refused(dotted):
    """A scenario written for the per-step schema is refused, never read with a field silently dropped."""
    block, key = dotted.split(".")
    with pytest.raises(ParameterError) as info:
        scenario_from_dict({block: {key: 1}}, "old.yaml")
    assert str(info.value).startswith(f"old.yaml: {dotted}: unknown key")
    if V1_FIELDS[dotted]:
        assert str(info.value).endswith(f"did you mean {V1_FIELDS[dotted]}?")


# --- limits -------------------------------------------------------------------------------------------


def test_abm_agent_limit():
    base = load_scenario(BASE)
    big = scenario_from_dict({**base.model_dump(mode="json"),
                              "simulation": {**base.simulation.model_dump(), "potential_users": 3_000_000}})
    with pytest.raises(ParameterError) as info:
        check_engine_limits(big, "abm", "big.yaml")
    message = str(info.value)
    assert message.startswith("big.yaml: simulation.potential_users: the abm engine creates one agent per")
    assert "3,001,200 agents exceed the limit of 2,000,000" in message and "GB" in message
    assert "use --engine batch or cadcad, or --force" in message and "\n" not in message
    check_engine_limits(big, "abm", "big.yaml", force=True)
    check_engine_limits(big, "batch", "big.yaml")
    check_engine_limits(base, "abm", "base.yaml")
    assert MAX_ABM_AGENTS == 2_000_000


def test_abm_run_over_the_limit_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    """Needs the CLI to call check_engine_limits (done in cmd_run)."""
    path = tmp_path / "big.yaml"
    path.write_text("name: big\nsimulation: {potential_users: 2500000}\n")
    monkeypatch.chdir(tmp_path)
    assert_refused(["run", str(path), "--engine", "abm", "--out", str(tmp_path / "o")], path,
                   "simulation.potential_users", tmp_path, capsys)


def test_expected_runs_matches_points(tmp_path):
    def spec(**fields):
        grid = {"market.liquidity_usd": {"values": [3e4, 6e4, 9e4]},
                "providers.opex_usd_per_year": {"values": [200.0, 400.0, 300.0]}}
        # a seller deep enough for a 90% crash into a 200,000 USD pool (validation checks every point)
        deep_seller = {"shocks.0.inventory_tokens": 13e6, "token.initial_supply": 30.5e6}
        data = {"name": "n", "base": str(CRASH), "parameters": grid, "replicates": 3, "steps": 70,
                "overrides": deep_seller, **fields}
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(data))
        return load_sweep(path)

    ranges = {"market.liquidity_usd": {"low": 2e4, "high": 2e5}, "shocks.0.size": {"low": 0.3, "high": 0.9}}
    for s in [spec(), spec(sampler="zip"), spec(sampler="latin_hypercube", samples=7, parameters=ranges),
              spec(sampler="sobol", samples=4, parameters=ranges)]:
        assert expected_runs(s) == len(points(s)) * s.replicates


def test_run_limit_counts_replicates_and_force_allows_it(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump({"name": "big", "base": str(BASE), "sampler": "latin_hypercube", "samples": 50,
                                    "replicates": 30_000, "parameters": {"market.liquidity_usd": {"low": 2e4,
                                                                                                  "high": 2e5}}}))
    with pytest.raises(ParameterError, match=r": replicates: the sweep has 1,500,000 runs .* --force"):
        load_sweep(path)
    assert expected_runs(load_sweep(path, force=True)) == 1_500_000


# --- seeds ---------------------------------------------------------------------------------------------


def _seed_spec(tmp_path: Path, **fields) -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "base": str(BASE), "steps": 20,
                                    "parameters": {"market.liquidity_usd": {"values": [3e4]}}, **fields}))
    return path


def test_seed_from_overrides_is_the_root_seed(tmp_path):
    spec = load_sweep(_seed_spec(tmp_path, overrides={"simulation.seed": 7}))
    assert spec.seed == 7 and base_scenario(spec).simulation.seed == 7


def test_seed_given_wins_and_agreeing_override_is_fine(tmp_path):
    assert load_sweep(_seed_spec(tmp_path, seed=11)).seed == 11
    spec = load_sweep(_seed_spec(tmp_path, seed=7, overrides={"simulation.seed": 7}))
    assert spec.seed == 7 and base_scenario(spec).simulation.seed == 7


def test_seed_defaults_to_the_base_scenario(tmp_path):
    spec = load_sweep(_seed_spec(tmp_path))
    assert spec.seed == load_scenario(BASE).simulation.seed == base_scenario(spec).simulation.seed


def test_seed_conflict_is_refused(tmp_path):
    path = _seed_spec(tmp_path, seed=1, overrides={"simulation.seed": 2})
    with pytest.raises(ParameterError, match=r": overrides\.simulation\.seed: 2 conflicts with seed: 1"):
        load_sweep(path)


def test_swept_seed_is_accepted(tmp_path):
    spec = load_sweep(_seed_spec(tmp_path, parameters={"simulation.seed": {"values": [1, 2, 3]}}))
    assert [p["simulation.seed"] for p in points(spec)] == [1, 2, 3]
