"""Parameter sweeps: specs and samplers, Dask execution, and the verified Parquet result store."""

from models.experiments.runner import run_sweep
from models.experiments.spec import SweepSpec, load_sweep, points
from models.experiments.store import load

__all__ = ["SweepSpec", "load", "load_sweep", "points", "run_sweep"]
