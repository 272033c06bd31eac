"""Aggregate engines: the cadCAD model and the batched numpy engine, both on ``models.sd.economy``."""
