"""Numbers from a loaded results table only: fits, crossovers, winners, stability, comparisons.

Torch-free: nothing here times anything, so an analysis can be redone from the parquet files on
any machine. One module per question:

- ``table``: load a folder, keep the ok sweep rows, group and select (ResultsError when unusable)
- ``cost_lookup``: the cost model's FLOPs at a stored point
- ``fits``: sweeps along one axis and their measured slopes against the model's
- ``crossover``: the forward/reverse time ratio against D/P and where it crosses 1
- ``winners``: the fastest mode per point, per D×P grid and per shape region
- ``stability``: drift of the reference points repeated at a run's start and end
- ``compare``: two runs side by side, judged as the drift is
"""
