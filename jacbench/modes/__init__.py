"""Jacobian modes: hand-written (forward, reverse, chain) and the library baselines.

``jacbench.catalog`` names them without torch; ``registry`` binds them to their implementations in
``handwritten``, ``chain`` and ``baselines`` and gives the one public call, ``jacobian``.
"""
