"""Measuring on a device: timing a callable, speed probes and machine load, ceilings, environment.

Knows nothing about Jacobians: the runner hands it closures.
"""
