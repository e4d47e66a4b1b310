"""Stage 1, collect, by source: the Post mapping and history-keeping storage every source
writes through (``posts``), and one module per source: dumps (``dumps``, with ``shards`` for
reads spread over workers), Reddit listings (``listings``) and the authors' index (``index``).
``pipeline.stages.collect`` is the stage's entry point and re-exports what callers use.
"""
