"""DePIN Flywheel Lab: mechanisms, engines, experiments and analysis of DePIN token economies."""

__version__ = "0.1.0"
# Bumped whenever the economy's rules change: part of every run's identity in the result store.
MODEL_VERSION = "1"
