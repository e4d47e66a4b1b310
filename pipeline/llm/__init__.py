"""The LLM layer: providers behind one interface, a content-addressed cache, retries,
structured-output validation with repair, and a record of every call."""
