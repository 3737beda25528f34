"""Metrics, one module per family: ``toy`` (mode coverage, divergences on densities), ``fid``
(FID/KID and class accuracy with the offline Fashion-MNIST classifier), ``prdc`` (precision/recall).
"""
