"""The theory, torch-free: exact operation counts of each mode, the chain mode's plan, floors.

Pure arithmetic on a shape (``shape.Shape``, the home of every element count); it never imports
how a mode is implemented, and returns numbers, never sentences (``render.words`` writes those).
"""
