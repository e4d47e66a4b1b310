"""Importers that bring existing benchmark files into valact's records."""
