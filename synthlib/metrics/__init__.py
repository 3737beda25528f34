"""Metrics, one module per family: ``toy`` (mode coverage, divergences on densities)."""
