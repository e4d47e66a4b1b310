"""Evaluate models on a release: the paper's four experiments (default, selection, adoption, PVQ-40).

Importing the package registers the ``eval_answers`` table with the store.
"""

from pipeline.evaluate import records as records
