"""Build and run the gRPC server: the Suggestion service plus the standard health service.

Katib's suggestion Deployment probes ``grpc_health_probe -service=manager.v1beta1.Suggestion``
(``pkg/controller.v1beta1/suggestion/composer/composer.go``), so that service name answers
SERVING, as does the overall server (``""``).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from kubeflow.katib import katib_api_pb2_grpc as pb_grpc

from katib_suggestions.service import SuggestionService
from katib_suggestions.state import COMPACT_EVERY

HEALTH_SERVICE = "manager.v1beta1.Suggestion"
DEFAULT_PORT = 6789  # Katib's suggestion port (composer.go defaultGRPCPort)
#: Katib sends every trial with its assignments in each request: thousands of trials exceed
#: gRPC's default 4 MiB receive limit.
MAX_MESSAGE = 256 * 2**20

log = logging.getLogger(__name__)


def build_server(state_dir: str | Path, address: str = f"[::]:{DEFAULT_PORT}",
                 algorithms: Iterable[str] | None = None, workers: int = 4,
                 compact_every: int = COMPACT_EVERY) -> tuple[grpc.Server, int]:
    """A started-ready (not started) server and the port it bound (``compact_every``:
    ``state.StateStore``)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers),
                         options=[("grpc.max_receive_message_length", MAX_MESSAGE),
                                  ("grpc.max_send_message_length", MAX_MESSAGE)])
    service = SuggestionService(state_dir, algorithms, compact_every)
    pb_grpc.add_SuggestionServicer_to_server(service, server)
    health_servicer = health.HealthServicer()
    for name in ("", HEALTH_SERVICE):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot bind {address}")
    return server, port


def serve(state_dir: str | Path, port: int = DEFAULT_PORT, algorithms: Iterable[str] | None = None) -> None:
    """Run until terminated on exactly ``port`` (gRPC binds a random port for 0 or > 65535)."""
    if not 1 <= port <= 65535:
        raise ValueError(f"port={port!r} is invalid; allowed: an integer 1-65535")
    server, bound = build_server(state_dir, f"[::]:{port}", algorithms)
    if bound != port:
        raise OSError(f"asked for port {port}, gRPC bound {bound}")
    server.start()
    log.info("supernas Katib suggestion service on port %d, state in %s", bound, state_dir)
    print(f"listening on port {bound}", flush=True)
    server.wait_for_termination()
