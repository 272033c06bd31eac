"""Shared fixtures: small, fast scenarios built from the base file."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.params import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def base_scenario():
    return load_scenario(ROOT / "params" / "base.yaml")


@pytest.fixture(scope="session")
def crash_scenario():
    return load_scenario(ROOT / "params" / "base_crash.yaml")


@pytest.fixture(scope="session")
def small_scenario(base_scenario):
    """80 weekly steps with a forced sale, a liquidity drain, a vesting cliff and a replayed price path inside.

    The forced seller needs about 2.9 M tokens to push the genesis pool of 5 M tokens down 60%; it holds
    4 M. The arbitrageur of the price path holds 1 M tokens and brings USD from outside to buy.
    """
    return with_overrides(
        base_scenario,
        {
            "simulation.steps": 80,
            "shocks": [
                {"type": "price_crash", "start_day": 30 * 7, "size": 0.6, "inventory_tokens": 4e6},
                {"type": "liquidity_drain", "start_day": 40 * 7, "size": 0.3},
                {"type": "unlock_cliff", "start_day": 60 * 7, "size": 0.5},
                {"type": "price_path", "start_day": 65 * 7, "path": [0.9, 0.8, 0.85], "inventory_tokens": 1e6},
            ],
        },
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test that reads the shared site build runs on the worker that builds it (before xdist groups)."""
    for item in items:
        if "site_build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("site"))


class SiteBuild:
    """The site that ``depin report --quick`` built once for the whole test session (see ``site_build``)."""

    def __init__(self, root: Path, code: int, log: str):
        self.root, self.code, self.log = root, code, log
        self.site, self.results, self.executed = root / "site", root / "results", root / "executed"

    def notebook(self, name: str):
        """The executed notebook ``name`` (its outputs are what the notebook tests check)."""
        import nbformat

        return nbformat.read(self.executed / name, as_version=4)

    def outputs(self, name: str) -> list[dict]:
        """Outputs of the code cells of the executed notebook ``name``; fails when a cell raised."""
        outs = [o for c in self.notebook(name).cells if c.cell_type == "code" for o in c.get("outputs", [])]
        errors = [o for o in outs if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
        return outs


@pytest.fixture(scope="session")
def site_build(tmp_path_factory) -> SiteBuild:
    """Every notebook executed once in quick mode and published as the site, as ``make report --quick`` does.

    Building it takes minutes, so every test that uses it is marked ``xdist_group("site")``: with
    ``--dist loadgroup`` (pyproject's addopts) they share one worker and one build.
    """
    import contextlib
    import io
    import os

    from models.site.build import build_report

    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers share the parent of their base temporaries
        claim = tmp_path_factory.getbasetemp().parent / "site-build.claimed"
        try:
            claim.touch(exist_ok=False)
        except FileExistsError:
            pytest.fail("the quick site is being built a second time: --dist loadgroup did not keep the tests "
                        "that use site_build on one worker (see pyproject's pytest pin)")
    root = tmp_path_factory.mktemp("site-build")
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        code = build_report(out=root / "site", quick=True, results_dir=root / "results",
                            executed_dir=root / "executed")
    return SiteBuild(root, code, log.getvalue())
