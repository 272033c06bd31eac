"""Parameter sweeps: specs and samplers, Dask execution, and the verified Parquet result store."""

from models.experiments.results import load
from models.experiments.runner import run_sweep
from models.experiments.spec import SweepSpec, load_sweep, points

__all__ = ["SweepSpec", "load", "load_sweep", "points", "run_sweep"]
