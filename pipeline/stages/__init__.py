"""One module per stage: plain functions over records in the store."""
