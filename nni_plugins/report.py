"""Tell the NNI manager that the tuner cannot start, so the experiment turns ERROR at once.

A tuner whose ``__init__`` raises dies before it connects to the manager: NNI 3.0 then shows
the experiment RUNNING with no trial and the reason only in ``dispatcher.log``. When the
dispatcher's command channel is known (``NNI_TUNER_COMMAND_CHANNEL``), this connects once and
sends NNI's error command ("ER"): the manager logs ``Dispatcher error: <message>`` in
``nnimanager.log`` and sets the status to ERROR.
"""
from __future__ import annotations

import logging
import os

_logger = logging.getLogger(__name__)


def report_startup_error(message: str) -> bool:
    """Send ``message`` to the NNI manager; True when it was sent. Never raises."""
    url = os.environ.get("NNI_TUNER_COMMAND_CHANNEL")
    if not url or os.environ.get("SDK_PROCESS") != "dispatcher":
        return False
    try:
        from nni.runtime.tuner_command_channel import TunerCommandChannel
        from nni.runtime.tuner_command_channel.command_type import CommandType

        channel = TunerCommandChannel(url)
        channel.connect()
        channel._send(CommandType.Error, message)
        channel.disconnect()
        return True
    except Exception:  # the manager may be gone; the message is still in dispatcher.log
        _logger.exception("could not report the start-up error to the NNI manager")
        return False
