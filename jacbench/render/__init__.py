"""Turning analysed results into things people read. Torch-free; every number comes from
``jacbench.analysis``, every formatted value from ``render.format``.

- ``format``: every formatter (times, bytes, percentages, FLOP counts, rates, point titles)
- ``summary``: the terminal summary at the end of a sweep
- ``axes``, ``figures``, ``plots``: figure helpers, the figures, and drawing them all to PNG
- ``markdown``, ``sections_run``, ``sections_theory``, ``report``: the markdown report
"""
