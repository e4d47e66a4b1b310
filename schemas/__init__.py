"""Pydantic records, configuration models and the ten Schwartz values.

This package holds data shapes only: no I/O, no imports from the rest of valact, so every
other package can depend on it without cycles.
"""
