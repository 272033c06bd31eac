"""Analysis of run outputs: regime metrics, sensitivity, scenario discovery and seaborn figure helpers."""
