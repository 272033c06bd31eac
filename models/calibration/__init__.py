"""Calibration of sector parameters to the shipped history (ABC-SMC on the batch engine)."""
