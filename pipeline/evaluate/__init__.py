"""Evaluate models on a release: the paper's four experiments (default, selection, adoption, PVQ-40)."""
