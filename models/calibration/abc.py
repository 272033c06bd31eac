"""Sequential Monte Carlo approximate Bayesian computation (ABC-SMC) on a whole population per call.

The algorithm of Beaumont, Cornuet, Marin and Robert (2009, "Adaptive approximate Bayesian computation",
Biometrika 96:983) with the adaptive tolerance of Del Moral, Doucet and Jasra (2012, Statistics and
Computing 22:1009): each generation keeps the particles whose distance to the data is below a tolerance,
the next tolerance is a quantile of the accepted distances, and new particles are drawn from the weighted
population moved by a Gaussian kernel with twice the weighted covariance; weights are prior over the
kernel mixture. pyabc (0.13) implements the same scheme but evaluates one particle per call; here
``simulate`` receives a whole proposal matrix, because the batch engine runs thousands of parameter sets
in one call for little more than the cost of one.

Parameters live on a transformed scale (log for positive rates and sizes) where the prior is uniform on a
box; the kernel works there too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import multivariate_normal


@dataclass(frozen=True)
class Prior:
    """A uniform prior on a box, per parameter on a linear or log scale.

    Attributes:
        names: dotted scenario paths of the fitted parameters.
        low, high: bounds on the natural scale.
        log: per parameter, whether the prior is uniform in log (log-uniform).
    """

    names: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    log: tuple[bool, ...]

    def __post_init__(self):
        n = len(self.names)
        if not (len(self.low) == len(self.high) == len(self.log) == n) or n == 0:
            raise ValueError("names, low, high and log must have the same non-zero length")
        for name, lo, hi, lg in zip(self.names, self.low, self.high, self.log, strict=True):
            if not lo < hi or (lg and lo <= 0):
                raise ValueError(f"{name}: prior bounds {lo:g} .. {hi:g} (need low < high, and low > 0 on a log scale)")

    @property
    def dim(self) -> int:
        """Number of parameters."""
        return len(self.names)

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi, lg = np.asarray(self.low, float), np.asarray(self.high, float), np.asarray(self.log)
        return np.where(lg, np.log(np.where(lg, lo, 1.0)), lo), np.where(lg, np.log(np.where(lg, hi, 1.0)), hi)

    def to_natural(self, z: np.ndarray) -> np.ndarray:
        """Transformed-scale values to parameter values."""
        return np.where(np.asarray(self.log), np.exp(z), z)

    def to_transformed(self, theta: np.ndarray) -> np.ndarray:
        """Parameter values to the transformed scale."""
        theta = np.asarray(theta, float)
        return np.where(np.asarray(self.log), np.log(np.where(np.asarray(self.log), theta, 1.0)), theta)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws on the transformed scale."""
        lo, hi = self._bounds()
        return lo + (hi - lo) * rng.random((n, self.dim))

    def inside(self, z: np.ndarray) -> np.ndarray:
        """Whether each transformed row lies in the box (the prior density is constant inside)."""
        lo, hi = self._bounds()
        return np.all((z >= lo) & (z <= hi), axis=-1)


@dataclass
class Generation:
    """One SMC generation: the accepted particles (transformed scale), their weights, distances, tolerance."""

    particles: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    tolerance: float
    simulations: int
    seconds: float


@dataclass
class AbcResult:
    """The generations of an ABC-SMC run; the last is the posterior sample."""

    prior: Prior
    generations: list[Generation] = field(default_factory=list)

    @property
    def posterior(self) -> Generation:
        """The last generation."""
        return self.generations[-1]

    def samples(self) -> np.ndarray:
        """Posterior particles on the natural scale, shape (particles, parameters)."""
        return self.prior.to_natural(self.posterior.particles)

    def quantiles(self, q) -> np.ndarray:
        """Weighted posterior quantiles on the natural scale, shape (len(q), parameters)."""
        z, w = self.posterior.particles, self.posterior.weights
        out = []
        for j in range(z.shape[1]):
            order = np.argsort(z[:, j])
            cdf = np.cumsum(w[order]) / w.sum()
            out.append(np.interp(np.atleast_1d(q), cdf - w[order] / (2 * w.sum()), z[order, j]))
        return self.prior.to_natural(np.array(out).T)

    def effective_sample_size(self) -> float:
        """Kish's effective sample size of the posterior weights."""
        w = self.posterior.weights
        return float(w.sum() ** 2 / np.sum(w**2))

    @property
    def simulations(self) -> int:
        """Model runs over all generations."""
        return sum(g.simulations for g in self.generations)

    @property
    def seconds(self) -> float:
        """Wall time over all generations, s."""
        return sum(g.seconds for g in self.generations)


def _kernel_covariance(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Twice the weighted covariance (Beaumont et al. 2009), kept positive definite."""
    cov = 2.0 * np.atleast_2d(np.cov(z.T, aweights=w))
    return cov + 1e-10 * np.eye(z.shape[1]) * max(np.trace(cov) / z.shape[1], 1e-12)


def _propose(parents, weights, cov, prior: Prior, n: int, rng: np.random.Generator, max_tries: int = 1000):
    """``n`` kernel moves of weighted parents that land inside the prior box (outside ones are redrawn).

    Redrawing costs no simulation. As in Toni et al. (2009, J. R. Soc. Interface 6:187), the importance
    weights then use the untruncated kernels (the usual approximation near the box's edges).
    """
    out = np.empty((0, prior.dim))
    for _ in range(max_tries):
        picks = rng.choice(len(parents), size=n, p=weights)
        moved = parents[picks] + rng.multivariate_normal(np.zeros(prior.dim), cov, size=n)
        out = np.vstack([out, moved[prior.inside(moved)]])
        if len(out) >= n:
            return out[:n]
    raise RuntimeError(f"fewer than {n} of {n * max_tries} kernel moves fell inside the prior box")


def _mixture_density(z: np.ndarray, parents: np.ndarray, weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Density at each row of ``z`` of the weighted mixture of Gaussian kernels around ``parents``."""
    density = np.empty(len(z))
    for lo in range(0, len(z), 256):  # chunks keep the (chunk, parents) matrix small
        diff = z[lo:lo + 256, None, :] - parents[None, :, :]
        density[lo:lo + 256] = (multivariate_normal(mean=np.zeros(z.shape[1]), cov=cov, allow_singular=True)
                                .pdf(diff).reshape(len(diff), len(parents)) @ weights)
    return density


def smc_abc(simulate: Callable[[np.ndarray], np.ndarray], prior: Prior, particles: int = 1000,
            generations: int = 8, quantile: float = 0.5, seed: int = 0, min_acceptance: float = 0.02,
            max_rounds: int = 20, progress: Callable[[Generation], None] | None = None) -> AbcResult:
    """Run ABC-SMC.

    Args:
        simulate: maps a (n, parameters) matrix on the natural scale to n distances (inf or nan = rejected).
        prior: the prior box.
        particles: accepted particles per generation.
        generations: generations after the prior one.
        quantile: next tolerance = this quantile of the accepted distances.
        seed: seed of the algorithm's own generator (proposals and kernel moves).
        min_acceptance: stop early when a generation accepts fewer of its proposals than this.
        max_rounds: proposal batches per generation before giving up on filling it.
        progress: called with each finished generation.

    Returns:
        The generations; the last one is the posterior sample.
    """
    rng = np.random.default_rng(seed)
    result = AbcResult(prior)
    started = time.perf_counter()
    z = prior.sample(particles, rng)
    d = np.asarray(simulate(prior.to_natural(z)), float)
    d = np.where(np.isfinite(d), d, np.inf)
    tolerance = float(np.inf)
    gen = Generation(z, np.full(particles, 1.0 / particles), d, tolerance, particles, time.perf_counter() - started)
    result.generations.append(gen)
    if progress:
        progress(gen)
    for _ in range(generations):
        started = time.perf_counter()
        finite = gen.distances[np.isfinite(gen.distances)]
        if finite.size == 0:
            break
        tolerance = float(np.quantile(finite, quantile))
        keep = gen.distances <= tolerance
        parents, parent_w = gen.particles[keep], gen.weights[keep] / gen.weights[keep].sum()
        cov = _kernel_covariance(parents, parent_w)
        accepted_z, accepted_d, simulated = [], [], 0
        for _round in range(max_rounds):
            proposal = _propose(parents, parent_w, cov, prior, max(particles, 64), rng)
            dist = np.asarray(simulate(prior.to_natural(proposal)), float)
            simulated += len(proposal)
            ok = np.isfinite(dist) & (dist <= tolerance)
            accepted_z.append(proposal[ok])
            accepted_d.append(dist[ok])
            if sum(len(a) for a in accepted_z) >= particles:
                break
        new_z, new_d = np.concatenate(accepted_z)[:particles], np.concatenate(accepted_d)[:particles]
        if len(new_z) < 2:
            break
        # importance weights: uniform prior over the mixture of kernels around the parents
        mixture = _mixture_density(new_z, parents, parent_w, cov)
        weights = 1.0 / np.maximum(mixture, 1e-300)
        gen = Generation(new_z, weights / weights.sum(), new_d, tolerance, simulated, time.perf_counter() - started)
        result.generations.append(gen)
        if progress:
            progress(gen)
        if len(new_z) / max(simulated, 1) < min_acceptance:
            break
    return result
