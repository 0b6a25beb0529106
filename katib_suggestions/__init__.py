"""Katib suggestion service for supernas (``python -m katib_suggestions``).

Serves Katib's ``api.v1.beta1.Suggestion`` gRPC API (stubs from the ``kubeflow-katib`` SDK) for the
drop-in ``enas`` / ``darts`` algorithms and ``supernas-enas``, ``supernas-darts``,
``supernas-bats``, ``supernas-evolution``, ``supernas-random``. The search logic lives in the
core (``supernas.strategies``, ``supernas.oneshot``); this package converts Katib requests to
it and back, and keeps per-experiment state on the suggestion volume.
"""
