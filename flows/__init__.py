"""Prefect flows: one per stage plus ``build``. They only wire stages; logic lives in pipeline/."""
