"""Parameter sweeps: specs and samplers, Dask execution, and the Parquet result store."""

from models.experiments.runner import run_sweep, sweep_main
from models.experiments.spec import SweepSpec, load_sweep, points
from models.experiments.store import load

__all__ = ["SweepSpec", "load", "load_sweep", "points", "run_sweep", "sweep_main"]
