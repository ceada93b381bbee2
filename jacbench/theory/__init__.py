"""The theory, torch-free: exact operation counts of each mode, the chain mode's plan, floors.

Pure arithmetic on a shape; it never imports how a mode is implemented.
"""
