"""The bundled demo corpus (package data only)."""
