"""game/live/transport.py `_write_at_once`: a WebSocket's bytes go to the socket when `write` is
called (Twisted's own `write` only queues them for a later turn of the reactor), and whatever
the socket does not take is queued, with everything written after it, in order."""
from __future__ import annotations

import socket

import pytest
from twisted.internet import error, tcp
from twisted.internet.protocol import Protocol

from game.live.transport import _write_at_once


class Reactor:
    """Just enough of a reactor for a Connection that is never run: who asked to be watched."""

    def __init__(self) -> None:
        self.writers: set[object] = set()

    def addWriter(self, w: object) -> None:
        self.writers.add(w)

    def removeWriter(self, w: object) -> None:
        self.writers.discard(w)

    def addReader(self, r: object) -> None:
        pass

    def removeReader(self, r: object) -> None:
        pass


@pytest.fixture
def pair():
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    reactor = Reactor()
    conn = tcp.Connection(ours, Protocol(), reactor)
    conn.connected = 1  # as tcp.Server sets it
    conn.write = _write_at_once(conn)
    yield conn, peer, reactor
    ours.close()
    peer.close()


def read_all(peer: socket.socket, n: int) -> bytes:
    peer.settimeout(5)
    out = b""
    while len(out) < n:
        out += peer.recv(1 << 20)
    return out


def test_bytes_reach_the_socket_at_once_and_nothing_is_queued(pair):
    conn, peer, reactor = pair
    conn.write(b"tick-1")
    conn.write(b"tick-2")
    assert read_all(peer, 12) == b"tick-1tick-2"  # the reactor never ran
    assert conn._tempDataBuffer == [] and conn.dataBuffer == b""
    assert reactor.writers == set()


def test_what_the_socket_does_not_take_is_queued_and_later_writes_queue_behind_it(pair):
    conn, peer, reactor = pair
    big = bytes(range(256)) * (64 * 1024)  # 16 MiB: more than the socket buffers take
    conn.write(big)
    queued = conn._tempDataLen
    assert 0 < queued < len(big)  # part went to the socket, the rest waits
    assert reactor.writers == {conn}
    conn.write(b"after")  # must not overtake what waits
    assert conn._tempDataLen == queued + 5
    received = b""
    peer.settimeout(5)
    while len(received) < len(big) + 5:  # the reactor's turns: send what the socket takes
        received += peer.recv(1 << 20)
        conn.doWrite()
    assert received == big + b"after"
    assert reactor.writers == set()  # drained: no longer watched


def test_a_closing_connection_writes_as_twisted_does(pair):
    conn, peer, reactor = pair
    conn.disconnecting = True
    conn.write(b"late")
    assert conn._tempDataBuffer == [b"late"]  # queued by Twisted's write, not sent here
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(10)


def test_a_failed_send_leaves_the_bytes_to_twisted_which_finds_the_loss(pair):
    conn, peer, reactor = pair
    peer.close()
    conn.write(b"x" * 1000)  # the send fails (the peer is gone): nothing raised here
    assert conn._tempDataBuffer == [b"x" * 1000]
    assert reactor.writers == {conn}  # the reactor's turn finds the loss, as without us
    assert isinstance(conn.doWrite(), error.ConnectionLost)
