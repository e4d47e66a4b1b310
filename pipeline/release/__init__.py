"""Versioned releases: declarations, build, diff and changelog, verify, and publishing to the
Hugging Face Hub or to a local Hub-shaped git repository."""
