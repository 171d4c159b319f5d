"""Failure analysis: failure clusters and metadata slices."""
