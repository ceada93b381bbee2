"""Turning analysed results into things people read: formatting, the terminal summary, plots, the
markdown report. Torch-free; every number comes from ``jacbench.analysis.table``."""
