"""The machinery every family shares.

``train`` (the one training loop: phases, EMA, precision, compile, callbacks), ``distributed`` and ``launch``
(several processes), ``checkpoint`` (safe saving and loading), ``registry`` (models rebuilt by class name),
``config`` (typed configs and profiles), ``params`` (each notebook's parameters checked), ``runs`` (recorded
metrics and run folders), ``errors`` and ``tiling`` (bounded-memory processing of large pictures).
"""
