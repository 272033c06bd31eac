"""Pure numpy mechanism functions shared by every engine.

Each function accepts scalars or arrays (one value per run) and returns the same shape. Nothing here
imports mesa, cadCAD or dask, and nothing draws random numbers: randomness enters as arguments.
"""
