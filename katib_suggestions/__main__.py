"""``python -m katib_suggestions [--port 6789] [--state-dir /opt/katib/data] [--algorithm NAME]``."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

#: Katib mounts the suggestion volume here (pkg/apis/config/v1beta1/defaults.go
#: DefaultContainerSuggestionVolumeMountPath).
DEFAULT_STATE_DIR = "/opt/katib/data"
DEFAULT_PORT = 6789  # Katib's suggestion port (katib_suggestions.server.DEFAULT_PORT)


def port_number(text: str) -> int:
    """A TCP port 1-65535 (gRPC would bind a random port for 0 or anything larger)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port={text!r} is invalid; allowed: an integer 1-65535")
    return port


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from katib_suggestions.algorithms import ALGORITHMS

    p = argparse.ArgumentParser(prog="python -m katib_suggestions", description=__doc__)
    p.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                   help="gRPC port, 1-65535 (default %(default)s)")
    p.add_argument("--state-dir", default=DEFAULT_STATE_DIR,
                   help="directory for state that survives restarts (default %(default)s)")
    p.add_argument("--algorithm", action="append", choices=ALGORITHMS.names(),
                   help="serve only this algorithm (repeatable; default: all)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from katib_suggestions.light_stubs import preload

    preload()  # before anything imports kubeflow.katib: saves ~100 MiB resident
    args = parse_args(argv)  # bad arguments exit here (status 2), before the server starts
    import torch

    from katib_suggestions.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    torch.set_num_threads(1)
    serve(args.state_dir, args.port, args.algorithm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
