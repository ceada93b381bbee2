"""Results: the one schema (columns, keys, roles, statuses), the typed record, storage on disk.

Torch-free: a results table can be read anywhere.
"""
