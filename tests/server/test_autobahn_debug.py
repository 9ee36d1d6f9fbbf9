"""autobahn pretty-prints every new socket's settings for a DEBUG line whether or not DEBUG lines
are written; game/live/transport.py `install()` makes it format them only for a DEBUG log."""
from __future__ import annotations

import pprint

import txaio
from autobahn.websocket import protocol

from game.live import transport

SETTINGS = [("autoPingInterval", 20, "WebSocketFactory"), ("openHandshakeTimeout", 5, "X")]


def test_autobahn_formats_its_debug_arguments_only_when_debug_lines_are_written():
    transport.install()
    assert protocol.pformat is transport.pformat_when_logged
    level = txaio.get_global_log_level()
    assert level not in ("debug", "trace")  # as the server runs
    assert protocol.pformat(SETTINGS) == transport.NOT_FORMATTED
    txaio.set_global_log_level("debug")
    try:
        assert protocol.pformat(SETTINGS) == pprint.pformat(SETTINGS)
    finally:
        txaio.set_global_log_level(level)
