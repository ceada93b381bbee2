"""Numbers from a loaded results table only: fits, crossovers, winners, stability, comparisons.

Torch-free: nothing here times anything, so an analysis can be redone from the parquet files on
any machine.
"""
