"""Data: read the sources, validate them, build and read the normalised manifest."""
