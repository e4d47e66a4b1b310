"""Packaged configuration profiles (TOML files)."""
