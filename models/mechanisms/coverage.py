"""Spatial coverage of wireless and sensor DePINs: covered share and overlap-scaled rewards.

Helium and Hivemapper pay a provider for the coverage it adds, so overlapping coverage earns less: Helium's
HIP-15 (beacon/witness reward scaling) and HIP-17 (hex density based transmit reward scaling) cut the reward
of hotspots in crowded hexes. Users are served only where some active provider covers them.

Agent rule (the ABM): providers and users sit on a square torus of side ``side_km`` cut into
``grid_cells x grid_cells`` cells; a provider covers every cell whose centre lies within ``radius_km`` of it
(torus metric), and always its own cell. A provider's overlap weight is the mean over its cells of ``1/k``,
where ``k`` is the number of active providers covering the cell, so a reward pool split by weight x cells
pays each covered cell exactly once.

Mean field (the aggregate engines): uniformly placed discs form a Poisson Boolean model with density
``lambda = n * pi r^2 / A``; a point is covered with probability ``1 - exp(-lambda)`` and a provider at a
random point has expected weight ``E[1 / (1 + Poisson(lambda))] = (1 - exp(-lambda)) / lambda``. Both assume
``radius_km`` well below half the side, so a disc does not wrap onto itself.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

_CHUNK_ENTRIES = 4_000_000  # provider x candidate-cell pairs per chunk: ~200 MB of temporaries at most


def disc_area_km2(radius_km):
    """Area ``pi r^2`` of one provider's coverage disc in km^2."""
    return np.pi * np.asarray(radius_km, dtype=float) ** 2


def density(active_providers, radius_km, area_km2):
    """Coverage density ``lambda = n pi r^2 / A``: mean number of discs covering a point."""
    return np.asarray(active_providers, dtype=float) * disc_area_km2(radius_km) / np.asarray(area_km2, dtype=float)


def poisson_covered_share(active_providers, radius_km, area_km2):
    """Mean-field covered share of the area, ``1 - exp(-lambda)`` (Poisson Boolean model)."""
    return -np.expm1(-density(active_providers, radius_km, area_km2))


def mean_field_overlap_weight(active_providers, radius_km, area_km2):
    """Expected overlap weight of a provider at a random location, ``(1 - exp(-lambda)) / lambda``.

    Tends to 1 as ``lambda -> 0`` (a lone provider keeps its full reward); the limit is used below
    ``lambda = 1e-12``, so zero providers raise no division warning.
    """
    lam = np.asarray(density(active_providers, radius_km, area_km2), dtype=float)
    small = lam < 1e-12
    safe = np.where(small, 1.0, lam)
    return np.where(small, 1.0 - 0.5 * lam, -np.expm1(-safe) / safe)


def cell_centres(grid_cells, side_km):
    """Centres of all cells as a ``(grid_cells**2, 2)`` array of ``x, y``; cell index ``iy * grid_cells + ix``."""
    h = side_km / grid_cells
    ix, iy = np.meshgrid(np.arange(grid_cells), np.arange(grid_cells))  # rows vary y, columns vary x
    return np.column_stack([(ix.ravel() + 0.5) * h, (iy.ravel() + 0.5) * h])


def _cell_xy(positions, grid_cells, side_km):
    """Integer column and row of each position (wrapped onto the torus first)."""
    pos = np.mod(np.asarray(positions, dtype=float).reshape(-1, 2), side_km)
    idx = np.clip(np.floor(pos * (grid_cells / side_km)).astype(np.int64), 0, grid_cells - 1)
    return pos, idx[:, 0], idx[:, 1]


def cell_of(positions, grid_cells, side_km):
    """Cell index ``iy * grid_cells + ix`` of each row of an ``(n, 2)`` array of positions in ``[0, side)``."""
    _, ix, iy = _cell_xy(positions, grid_cells, side_km)
    return iy * grid_cells + ix


def _candidate_offsets(radius_km, grid_cells, side_km):
    """Integer offsets ``(dx, dy)`` of cells whose centre can lie within the radius of some point of a cell.

    A point in cell ``ix`` is at least ``max(|dx| - 1/2, 0)`` cells from the centre of cell ``ix + dx`` along
    x. Offsets are kept to one window of ``grid_cells`` consecutive values per axis, so each cell of the torus
    appears at most once even when the disc is wider than the torus.
    """
    h = side_km / grid_cells
    m = int(np.ceil(radius_km / h + 0.5))
    lo, hi = max(-m, -(grid_cells // 2)), min(m, (grid_cells - 1) // 2)
    d = np.arange(lo, hi + 1)
    gap = np.maximum(np.abs(d) - 0.5, 0.0) * h
    ox, oy = np.meshgrid(d, d)
    ox, oy = ox.ravel(), oy.ravel()
    keep = (gap[ox - lo] ** 2 + gap[oy - lo] ** 2 <= radius_km**2) | ((ox == 0) & (oy == 0))
    return ox[keep], oy[keep]


def disc_membership(positions, radius_km, grid_cells, side_km):
    """Sparse ``(n, grid_cells**2)`` matrix with 1.0 where a cell centre lies within the radius (torus metric).

    Each provider's own cell is always included, so every row has at least one entry even when the radius is
    below half a cell. Vectorised over providers in chunks: candidate offsets are precomputed once, then the
    exact minimal-image distance from each provider to each candidate centre is tested.

    Args:
        positions: ``(n, 2)`` provider positions in km, in ``[0, side_km)``.
        radius_km: coverage radius of every provider.
        grid_cells: cells per side of the grid.
        side_km: side of the square torus.

    Returns:
        ``scipy.sparse.csr_matrix`` of float 1.0 entries, column indices sorted within each row.
    """
    h = side_km / grid_cells
    pos, ix, iy = _cell_xy(positions, grid_cells, side_km)
    n = len(pos)
    ox, oy = _candidate_offsets(float(radius_km), grid_cells, side_km)
    own = (ox == 0) & (oy == 0)
    r2 = float(radius_km) ** 2
    chunk = max(1, _CHUNK_ENTRIES // len(ox))
    cols, counts = [], [np.zeros(1, dtype=np.int64)]
    for start in range(0, n, chunk):
        sl = slice(start, start + chunk)
        cx = np.mod(ix[sl, None] + ox, grid_cells)
        cy = np.mod(iy[sl, None] + oy, grid_cells)
        ddx = np.mod((cx + 0.5) * h - pos[sl, 0:1] + 0.5 * side_km, side_km) - 0.5 * side_km
        ddy = np.mod((cy + 0.5) * h - pos[sl, 1:2] + 0.5 * side_km, side_km) - 0.5 * side_km
        mask = (ddx * ddx + ddy * ddy <= r2) | own
        cols.append((cy * grid_cells + cx)[mask])
        counts.append(mask.sum(axis=1))
    indptr = np.cumsum(np.concatenate(counts))
    indices = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    out = sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, grid_cells * grid_cells))
    out.sort_indices()
    return out


def coverage_counts(membership, active):
    """Number of active providers covering each cell, as a float array of length ``grid_cells**2``.

    Args:
        membership: ``(n, cells)`` sparse matrix from :func:`disc_membership`.
        active: bool mask of shape ``(n,)``.
    """
    return np.asarray(membership.T @ np.asarray(active, dtype=float), dtype=float).ravel()


def covered_share(counts):
    """Share of cells covered by at least one active provider."""
    counts = np.asarray(counts, dtype=float)
    return float(np.mean(counts >= 1)) if counts.size else 0.0


def overlap_weights(membership, counts):
    """Per provider, the mean over its cells of ``1 / count``; shape ``(n,)``.

    ``counts`` come from :func:`coverage_counts` and, for an active provider, include the provider itself, so
    two co-located active providers get 0.5 each and a lone one gets 1. Cells with count 0 contribute as if
    the count were 1. For an inactive provider this means its weight is the one it would get if it were alone
    where nobody covers, but ``1/k`` rather than ``1/(k + 1)`` where ``k`` active providers already cover; pass
    ``counts + 1`` to price entry of a provider not yet counted. Rows with no cells get weight 0 (they add no
    coverage); :func:`disc_membership` never makes such rows.
    """
    membership = sparse.csr_matrix(membership)
    inverse = 1.0 / np.maximum(np.asarray(counts, dtype=float), 1.0)
    total = np.asarray(membership @ inverse, dtype=float).ravel()
    cells = np.diff(membership.indptr).astype(float)
    return np.divide(total, cells, out=np.zeros_like(total), where=cells > 0)


def covered(cells, counts):
    """Whether each user's cell (integer cell index) is covered by at least one active provider."""
    return np.asarray(counts)[np.asarray(cells, dtype=np.int64)] >= 1
