"""Turning analysed results into things people read. Torch-free; every number comes from
``jacbench.analysis``, every formatted value from ``render.format``.

- ``format``: every formatter (times, durations, bytes, percentages, FLOP counts, quantities with
  a unit, rates, point titles)
- ``words``: a time prediction's dominant term as a sentence
- ``advise``: the advisor's ranking, as lines and as JSON
- ``summary``: the terminal summary at the end of a sweep
- ``axes``, ``figures``, ``plots``: figure helpers, the figures, and drawing them all to PNG
- ``markdown``, ``sections_run``, ``sections_theory``, ``report``: the markdown report
"""
