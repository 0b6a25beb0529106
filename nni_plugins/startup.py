"""Build a tuner without missing NNI's 10-second connection deadline.

NNI 3.0's manager gives the dispatcher 10 s from launch to connect (``tuner_command_channel.js``:
"Tuner did not connect in 10 seconds"), and the dispatcher only connects after the tuner's
``__init__`` returns. Importing torch and the supernas core, building a space and validating the
class arguments can take longer than that on a busy machine. So inside the dispatcher
(``SDK_PROCESS=dispatcher``) the heavy part runs on a thread: ``__init__`` waits up to
``STARTUP_WAIT`` seconds and raises the usual clear error if validation failed by then; if
validation finishes later and fails, the error is sent to the manager (experiment turns ERROR,
message in ``nnimanager.log``) and the tuner ends the experiment on its first request.
Elsewhere (unit tests, benchmarks, ``supernas nni check``) everything runs synchronously.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from nni_plugins.report import report_startup_error

_logger = logging.getLogger(__name__)
#: seconds ``__init__`` waits for validation inside the dispatcher (NNI's deadline is 10 s).
STARTUP_WAIT = 2.0


class Startup:
    """Runs ``build`` (synchronously, or on a thread inside NNI's dispatcher) and keeps its error."""

    def __init__(self, build: Callable[[], None], owner: str) -> None:
        self.owner = owner
        self.error: Exception | None = None
        self.done = threading.Event()
        self._reported = False
        if os.environ.get("SDK_PROCESS") != "dispatcher":
            self._run(build)
            self.raise_if_failed()
            return
        threading.Thread(target=self._run, args=(build,), daemon=True, name="supernas-startup").start()
        if self.done.wait(STARTUP_WAIT):
            self.raise_if_failed()

    def _run(self, build: Callable[[], None]) -> None:
        try:
            build()
        except Exception as exc:  # noqa: BLE001 - kept, re-raised or reported by the owner
            self.error = exc
        finally:
            self.done.set()

    def message(self) -> str:
        return f"{self.owner}: bad classArgs: {self.error}"

    def raise_if_failed(self) -> None:
        """Raise the build error (after logging it and telling the NNI manager)."""
        if self.error is not None:
            self._report()
            raise self.error

    def wait(self) -> str | None:
        """Block until the build is over; the error message if it failed (reported once)."""
        self.done.wait()
        if self.error is None:
            return None
        self._report()
        return self.message()

    def _report(self) -> None:
        if not self._reported:
            self._reported = True
            # a refused setting (ConfigError and the like are ValueErrors) is bad input, not a bug:
            # its message says everything, so no traceback
            _logger.error(self.message(), exc_info=None if isinstance(self.error, ValueError) else self.error)
            report_startup_error(self.message())
