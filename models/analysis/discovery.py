"""Scenario discovery on regime labels: PRIM boxes and CART rules where the flywheel survives.

Input is a large random sweep (one row per run: its parameters and its twin-relative regime). PRIM
(Friedman and Fisher 1999, *Bump hunting in high-dimensional data*, Stat. Comput. 9, 123-143; as used for
scenario discovery by Bryant and Lempert 2010, Technol. Forecast. Soc. Change 77, 34-49) peels the parameter
box step by step toward the runs of interest (here: runs that did **not** collapse), tracing the trade-off
between coverage (share of all runs of interest inside the box) and density (share of the box's runs that
are of interest, so P(collapse) in the box = 1 - density). The implementation is EMA Workbench's
``ema_workbench.analysis.prim`` (its 2.5 line runs on Python 3.11). A CART tree (Breiman et al. 1984;
``sklearn.tree.DecisionTreeClassifier``) gives a second, non-nested reading of the same data.

A chosen box is written as a box file (``models.experiments.boxes``) that a sweep spec reads back as ranges,
so the box's P(collapse) can be re-tested on fresh runs (:func:`retest`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.analysis.points import wilson


@dataclass(frozen=True)
class Box:
    """One box on a PRIM peeling trajectory.

    Attributes:
        name: the box's name (a safe file stem).
        limits: restricted dimensions only, as sweep ranges: ``{path: {"low", "high"}}`` or
            ``{path: {"values": [...]}}``; a side PRIM did not peel keeps the sweep's own bound.
        stats: ``index`` on the trajectory, ``coverage``, ``density``, ``mass``, ``n`` (runs in the box),
            ``k`` (runs of interest), ``res_dim``, ``p_collapse`` with its Wilson interval
            ``p_collapse_low``/``high`` (in sample).
    """

    name: str
    limits: dict[str, dict[str, Any]]
    stats: dict[str, float | int]
    source: dict[str, Any] = field(default_factory=dict)


class PrimResult:
    """A PRIM run: its peeling trajectory and the boxes along it (``ema_workbench`` PrimBox underneath)."""

    def __init__(self, prim_box, x: pd.DataFrame, y: np.ndarray, ranges: dict[str, Any] | None):
        self._box = prim_box
        self.x, self.y = x, np.asarray(y, dtype=bool)
        self.ranges = ranges or {}
        traj = prim_box.peeling_trajectory
        self.trajectory = pd.DataFrame({
            "index": np.arange(len(traj)), "coverage": traj["coverage"].astype(float).to_numpy(),
            "density": traj["density"].astype(float).to_numpy(), "mass": traj["mass"].astype(float).to_numpy(),
            "n": traj["n"].astype(int).to_numpy(), "k": traj["k"].astype(int).to_numpy(),
            "res_dim": traj["res_dim"].astype(int).to_numpy()})

    def choose(self, min_density: float) -> int:
        """The trajectory index of the widest box (highest coverage) whose density is at least ``min_density``.

        Raises:
            ValueError: no box on the trajectory is that dense.
        """
        ok = self.trajectory[self.trajectory["density"] >= min_density]
        if ok.empty:
            best = self.trajectory["density"].max()
            raise ValueError(f"no PRIM box reaches density {min_density:g} (the densest has {best:.3f})")
        return int(ok.sort_values(["coverage", "index"], ascending=[False, True]).iloc[0]["index"])

    def choose_or_densest(self, min_density: float, min_mass: float = 0.0) -> tuple[int, bool]:
        """:meth:`choose`, else the densest box keeping at least ``min_mass`` of the runs; and whether it met it."""
        try:
            return self.choose(min_density), True
        except ValueError:
            wide = self.trajectory[self.trajectory["mass"] >= min_mass]
            return int(wide.sort_values(["density", "coverage"], ascending=False).iloc[0]["index"]), False

    def box(self, index: int, name: str, source: dict[str, Any] | None = None, max_qp: float | None = 0.05) -> Box:
        """The box at ``index`` on the trajectory, its limits as sweep ranges and its stats.

        Args:
            index: position on the peeling trajectory (:meth:`choose`).
            name: the box's name.
            source: where it was found (written into the box file).
            max_qp: drop a restriction whose quasi-p-values (Bryant and Lempert 2010: the binomial chance that
                the restriction raises density by luck) are all above this; None keeps every restriction.

        Returns:
            The :class:`Box`; its stats are counted on the data inside its final limits.
        """
        lims = self._box.box_lims[index]
        init = self._box.prim.box_init
        qp = self._quasi_p(index) if max_qp is not None else {}
        limits: dict[str, dict[str, Any]] = {}
        for column in lims.columns:
            low, high = lims[column].iloc[0], lims[column].iloc[1]
            full_low, full_high = init[column].iloc[0], init[column].iloc[1]
            unrestricted = low == full_low if isinstance(low, set) else (low == full_low and high == full_high)
            if unrestricted or (column in qp and qp[column] > max_qp):
                continue
            if isinstance(low, set):
                limits[column] = {"values": sorted(low, key=str)}
                continue
            rng = self.ranges.get(column)
            own_low, own_high = getattr(rng, "low", None), getattr(rng, "high", None)
            limits[column] = {"low": float(own_low if low == full_low and own_low is not None else low),
                              "high": float(own_high if high == full_high and own_high is not None else high)}
        member = in_box(self.x, limits)
        n, k = int(member.sum()), int(self.y[member].sum())
        p_low, p_high = wilson(n - k, n)
        stats = {"index": int(index), "coverage": k / max(int(self.y.sum()), 1), "density": k / n,
                 "mass": n / len(self.y), "n": n, "k": k, "res_dim": len(limits),
                 "p_collapse": (n - k) / n, "p_collapse_low": p_low, "p_collapse_high": p_high,
                 "dropped_restrictions": int(sum(v > max_qp for v in qp.values())) if max_qp is not None else 0}
        return Box(name=name, limits=limits, stats=stats, source=dict(source or {}))

    def _quasi_p(self, index: int) -> dict[str, float]:
        """Smallest quasi-p-value of each restricted dimension of box ``index`` (``PrimBox.qp``; -1 = no test)."""
        out = {}
        for name, values in self._box.qp[index].items():
            tested = [float(v) for v in values if v is not None and v >= 0]
            out[str(name)] = min(tested) if tested else 0.0
        return out


def prim(x: pd.DataFrame, of_interest, *, threshold: float = 1e-9, peel_alpha: float = 0.05,
         paste_alpha: float = 0.05, mass_min: float = 0.05, ranges: dict[str, Any] | None = None) -> PrimResult:
    """Run PRIM toward the runs ``of_interest`` (boolean per row of ``x``).

    Args:
        x: one row per run, one column per swept parameter (strings are treated as categories).
        of_interest: True for the runs the box should hold (for example, regime is not collapse).
        threshold: in (0, 1]. ``ema_workbench`` counts a run of interest when its y (0 or 1) is at least this,
            and keeps the trajectory only if the last box's density reaches it (else it returns a one-box
            "dump box"); the default, just above 0, always keeps it, and the target density is applied
            afterwards by :meth:`PrimResult.choose`.
        peel_alpha: share of the box peeled per step.
        paste_alpha: share of the box pasted back per step.
        mass_min: the smallest box, as a share of all runs.
        ranges: the sweep's ranges (``spec.parameters``), so an unpeeled side keeps the sweep's bound.
    """
    import logging
    import warnings

    with warnings.catch_warnings():  # the workbench warns at import about optional parallel back ends
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim as ema_prim

    logging.getLogger("EMA").setLevel(logging.WARNING)
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold {threshold!r} is not in (0, 1] (runs of interest are those with y >= it)")
    y = np.asarray(of_interest, dtype=bool)
    x = x.reset_index(drop=True).copy()
    for column in x.columns:
        if x[column].dtype == bool:
            x[column] = x[column].astype(str)
        elif not pd.api.types.is_numeric_dtype(x[column]):
            x[column] = x[column].astype(object)
        elif pd.api.types.is_float_dtype(x[column]):
            x[column] = x[column].astype(np.float64)
    finder = ema_prim.Prim(x, y, threshold=threshold, peel_alpha=peel_alpha, paste_alpha=paste_alpha,
                           mass_min=mass_min)
    return PrimResult(finder.find_box(), x, y, ranges)


def in_box(x: pd.DataFrame, limits: dict[str, dict[str, Any]]) -> np.ndarray:
    """Which rows of ``x`` lie inside the box ``limits`` (closed bounds; listed values for categories)."""
    mask = np.ones(len(x), dtype=bool)
    for column, lim in limits.items():
        if "values" in lim:
            mask &= x[column].isin(lim["values"]).to_numpy()
        else:
            values = x[column].astype(float).to_numpy()
            mask &= (values >= lim["low"]) & (values <= lim["high"])
    return mask


def cart_rules(x: pd.DataFrame, collapsed, *, max_depth: int = 3, min_leaf_share: float = 0.05,
               seed: int = 0) -> pd.DataFrame:
    """A CART tree on P(collapse): one row per leaf, with its rule, size and P(collapse) with a Wilson interval.

    Categorical columns are coded as integers in the order of their sorted values (the rule names the
    values). Leaves are sorted from the safest (lowest P(collapse)) to the worst.

    Returns:
        ``leaf, rule, n, collapses, p_collapse, p_collapse_low, p_collapse_high, share``.
    """
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(collapsed, dtype=bool)
    coded, categories = x.reset_index(drop=True).copy(), {}
    for column in coded.columns:
        if not pd.api.types.is_numeric_dtype(coded[column]) or coded[column].dtype == bool:
            cats = sorted(coded[column].astype(str).unique())
            categories[column] = cats
            coded[column] = coded[column].astype(str).map({c: i for i, c in enumerate(cats)})
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=max(1, int(min_leaf_share * len(y))),
                                  random_state=seed).fit(coded.to_numpy(dtype=float), y)
    t = tree.tree_
    # per node: feature -> (low, high] bounds (numeric) or the allowed category codes
    bounds: dict[int, dict[str, Any]] = {0: {}}
    for node in range(t.node_count):
        if t.children_left[node] == -1:
            continue
        name, cut = coded.columns[t.feature[node]], float(t.threshold[node])
        for child, side in ((t.children_left[node], "left"), (t.children_right[node], "right")):
            own = dict(bounds[node])
            if name in categories:
                allowed = own.get(name, set(range(len(categories[name]))))
                own[name] = {i for i in allowed if (i <= cut) == (side == "left")}
            else:
                low, high = own.get(name, (-np.inf, np.inf))
                own[name] = (low, min(high, cut)) if side == "left" else (max(low, cut), high)
            bounds[child] = own
    rules = {node: _rule_text(b, categories) for node, b in bounds.items()}
    leaves = tree.apply(coded.to_numpy(dtype=float))
    rows = []
    for leaf in np.unique(leaves):
        member = leaves == leaf
        n, k = int(member.sum()), int(y[member].sum())
        low, high = wilson(k, n)
        rows.append({"leaf": int(leaf), "rule": rules[leaf] or "all runs", "n": n, "collapses": k,
                     "p_collapse": k / n, "p_collapse_low": low, "p_collapse_high": high, "share": n / len(y)})
    return pd.DataFrame(rows).sort_values(["p_collapse", "n"], ascending=[True, False]).reset_index(drop=True)


def _rule_text(bounds: dict[str, Any], categories: dict[str, list[str]]) -> str:
    """One leaf's conditions, each feature once: ``a > 0.6 and b <= 4`` (``lo < f <= hi`` when both)."""
    parts = []
    for name, bound in bounds.items():
        if name in categories:
            parts.append(f"{name} in {[categories[name][i] for i in sorted(bound)]}")
            continue
        low, high = bound
        if np.isfinite(low) and np.isfinite(high):
            parts.append(f"{low:.4g} < {name} <= {high:.4g}")
        elif np.isfinite(low):
            parts.append(f"{name} > {low:.4g}")
        else:
            parts.append(f"{name} <= {high:.4g}")
    return " and ".join(parts)


def write_box(box: Box, path: str | Path) -> Path:
    """Write ``box`` as a box file (``models.experiments.boxes``; atomic rename) and read it back to validate."""
    import yaml

    from models.experiments.boxes import BOX_KIND, read_box
    from models.io import atomic_write_text

    data = {"kind": BOX_KIND, "name": box.name, "source": _plain(box.source), "stats": _plain(box.stats),
            "limits": _plain(box.limits)}
    header = ("# A parameter box found by scenario discovery (models.analysis.discovery); a sweep spec reads it\n"
              "# back with `box: <this file>` (models.experiments.boxes). Stats are in sample.\n")
    path = atomic_write_text(path, header + yaml.safe_dump(data, sort_keys=False))
    read_box(path)
    return path


def retest(box: Box, summary: pd.DataFrame, column: str = "regime", collapse: str = "collapse") -> dict[str, Any]:
    """P(collapse) of fresh runs inside ``box`` against the box's in-sample interval.

    Args:
        box: the box as found.
        summary: the summary of a sweep run inside the box (a spec with ``box:`` the box file).
        column: the regime column (twin-relative ``regime`` by default).
        collapse: the label counted as a collapse.

    Returns:
        ``n, collapses, p_collapse, p_collapse_low, p_collapse_high`` of the fresh runs; ``within``: the fresh
        estimate lies inside the box's in-sample Wilson interval (the re-test confirms the box); ``overlap``:
        the two intervals overlap (a weaker agreement).
    """
    n = len(summary)
    k = int((summary[column] == collapse).sum())
    low, high = wilson(k, n)
    p = k / n
    return {"n": n, "collapses": k, "p_collapse": p, "p_collapse_low": low, "p_collapse_high": high,
            "within": bool(box.stats["p_collapse_low"] <= p <= box.stats["p_collapse_high"]),
            "overlap": bool(low <= box.stats["p_collapse_high"] and box.stats["p_collapse_low"] <= high)}


def _plain(obj: Any) -> Any:
    """The object with numpy scalars and tuples as plain YAML types."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def retest_spec(spec, box_path: str | Path, out: str | Path, samples: int, seed: int) -> Path:
    """Write a sweep spec that re-tests a box on fresh runs: the discovery sweep with ``box:`` the box file.

    Args:
        spec: the loaded discovery spec (``load_sweep``; its paths are absolute).
        box_path: the box file (:func:`write_box`).
        out: where to write the spec (atomic rename).
        samples: Latin hypercube points inside the box.
        seed: a root seed other than the discovery sweep's, so the runs are new.

    Returns:
        The spec path; ``load_sweep`` of it validates the box and every point.
    """
    import yaml

    from models.experiments.boxes import read_box
    from models.io import atomic_write_text

    if seed == spec.seed:
        raise ValueError(f"seed {seed} is the discovery sweep's own: the re-test would repeat its runs")
    box = read_box(box_path)
    data = spec.model_dump(mode="json", exclude={"quick", "box"})
    data.update({"name": f"{spec.name}-retest-{box.name}", "box": str(Path(box_path).resolve()),
                 "sampler": "latin_hypercube", "samples": int(samples), "replicates": 1, "seed": int(seed),
                 "keep": "summary", "series_columns": None, "common_random_numbers": False})
    data["parameters"] = {k: {f: v for f, v in r.items() if v is not None and not (f == "integer" and not v)}
                          for k, r in data["parameters"].items()}
    header = (f"# Re-test of box {box.name!r} on fresh runs (models.analysis.discovery.retest_spec): the sweep "
              f"{spec.name!r}\n# with the box's limits as ranges and a new root seed.\n")
    return atomic_write_text(out, header + yaml.safe_dump(data, sort_keys=False))


def lever_boxes(x: pd.DataFrame, collapsed, levers, condition: str, edges, *, max_p_collapse: float = 0.1,
                ranges: dict[str, Any] | None = None, min_runs: int = 100, min_mass: float = 0.2) -> pd.DataFrame:
    """What the levers alone can do within bands of one uncertainty: a PRIM box over the levers per band.

    The widest box of all parameters often restricts only the world (the shock size, say), which a protocol
    team cannot choose. Here PRIM may restrict the levers only, within each band ``[edges[i], edges[i + 1])``
    of ``condition``: the answer to "for shocks of this size, which settings keep P(collapse) low?".

    Args:
        x: one row per run, the swept parameters (``condition`` among them).
        collapsed: True for each run that collapsed.
        levers: the columns PRIM may restrict.
        condition: the uncertainty whose bands are examined (for example ``shocks.0.size``).
        edges: band edges, increasing; the last band includes its upper edge.
        max_p_collapse: the target; the widest box meeting it is taken, else the densest box that keeps at
            least ``min_mass`` of the band's runs (the best the levers can do without a tiny box).
        ranges: the sweep's ranges (an unpeeled side keeps the sweep's bound).
        min_runs: a band with fewer runs is skipped.
        min_mass: see ``max_p_collapse``.

    Returns:
        One row per band: ``low, high, n, p_band`` (P(collapse) over the band), ``p_collapse, p_collapse_low,
        p_collapse_high, mass`` (share of the band's runs in the box), ``meets`` (the box reaches the
        target), ``limits`` (dict of the levers it restricts).
    """
    y = np.asarray(collapsed, dtype=bool)
    rows = []
    edges = list(edges)
    for i, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        values = x[condition].to_numpy(dtype=float)
        member = (values >= low) & ((values <= high) if i == len(edges) - 2 else (values < high))
        if member.sum() < min_runs:
            continue
        sub, ys = x.loc[member, list(levers)].reset_index(drop=True), y[member]
        row = {"low": low, "high": high, "n": int(member.sum()), "p_band": float(ys.mean())}
        if ys.all() or not ys.any():  # nothing to peel toward (PRIM needs both outcomes)
            k = int(ys.sum())
            low_, high_ = wilson(k, len(ys))
            rows.append({**row, "p_collapse": k / len(ys), "p_collapse_low": low_, "p_collapse_high": high_,
                         "mass": 1.0, "meets": k / len(ys) <= max_p_collapse, "limits": {}})
            continue
        found = prim(sub, ~ys, ranges=ranges)
        index, _ = found.choose_or_densest(1.0 - max_p_collapse - 1e-12, min_mass)
        box = found.box(index, f"levers-{i}")
        rows.append({**row, "p_collapse": box.stats["p_collapse"], "p_collapse_low": box.stats["p_collapse_low"],
                     "p_collapse_high": box.stats["p_collapse_high"], "mass": box.stats["mass"],
                     "meets": bool(box.stats["p_collapse"] <= max_p_collapse + 1e-12), "limits": box.limits})
    return pd.DataFrame(rows, columns=["low", "high", "n", "p_band", "p_collapse", "p_collapse_low", "p_collapse_high",
                                       "mass", "meets", "limits"])


def lever_effects(x: pd.DataFrame, collapsed, levers, condition: str, edges, quantiles: int = 4) -> pd.DataFrame:
    """P(collapse) by quantile of each lever within bands of one uncertainty, with Wilson intervals.

    The plain reading behind :func:`lever_boxes`: where a lever helps, its quantiles part within a band.

    Returns:
        Tidy frame: ``lever, band_low, band_high, quantile`` (0 = the lever's lowest values), ``lever_low,
        lever_high`` (its values' range in that quantile), ``n, p_collapse, p_collapse_low, p_collapse_high``.
    """
    y = np.asarray(collapsed, dtype=bool)
    values = x[condition].to_numpy(dtype=float)
    edges = list(edges)
    rows = []
    for i, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        member = (values >= low) & ((values <= high) if i == len(edges) - 2 else (values < high))
        for lever in levers:
            lever_values = x.loc[member, lever].to_numpy(dtype=float)
            bins = pd.qcut(lever_values, quantiles, labels=False, duplicates="drop")
            for q in np.unique(bins):
                inside = bins == q
                n, k = int(inside.sum()), int(y[member][inside].sum())
                p_low, p_high = wilson(k, n)
                rows.append({"lever": lever, "band_low": low, "band_high": high, "quantile": int(q),
                             "lever_low": float(lever_values[inside].min()),
                             "lever_high": float(lever_values[inside].max()), "n": n, "p_collapse": k / n,
                             "p_collapse_low": p_low, "p_collapse_high": p_high})
    return pd.DataFrame(rows)
