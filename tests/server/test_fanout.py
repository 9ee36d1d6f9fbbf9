"""The per-worker fan-out (game/live/fanout.py) and the consumer's held frames: a frame is
decoded once per worker and reaches each local socket of its group in arrival order; other
events keep the sockets' own queues; a socket building a snapshot sends the frames that arrive
meanwhile after it, in order. (End to end over Redis: tests/scaleout.)"""
from __future__ import annotations

import asyncio
from typing import Any

from game.live.consumers import GameConsumer
from game.live.fanout import PubSubChannelLayer


class Recorder(GameConsumer):
    def __init__(self, log: list[tuple[str, Any]], name: str) -> None:
        super().__init__()
        self.log, self.name = log, name

    async def frame_send(self, event: dict[str, Any]) -> None:
        self.log.append((self.name, event["text"]))

    async def _send(self, message: dict[str, Any]) -> None:
        self.log.append((self.name, message["type"]))


def _layer() -> Any:
    return PubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix="t")._get_layer()


class Worker:
    """A worker's fan-out layer with sockets `ca` and `cb` taking frames directly (logging
    them in `log`) and `cq`, another kind of consumer, taking everything in its queue; every
    socket in the group game.1. `decoded` counts the layer's decodes."""

    def __init__(self) -> None:
        self.layer = layer = _layer()
        self.log: list[tuple[str, Any]] = []
        for name, consumer in (("ca", Recorder(self.log, "a")), ("cb", Recorder(self.log, "b")),
                               ("cq", None)):
            layer.channels[name] = asyncio.Queue()
            if consumer is not None:
                layer.register(name, consumer)
        layer.groups[self.group("game.1")] = {"ca", "cb", "cq"}
        self.decoded = 0
        self.decode = real = layer.channel_layer.deserialize

        def counting(data: bytes) -> Any:
            self.decoded += 1
            return real(data)

        layer.channel_layer.deserialize = counting

    def group(self, name: str) -> str:
        return self.layer._get_group_channel_name(name)

    def arrives(self, group: str, event: dict[str, Any]) -> None:
        """`event` published to `group`, as Redis hands it to the worker."""
        self.layer._shards[0]._receive_message({
            "channel": self.group(group).encode(),
            "data": self.layer.channel_layer.serialize(event)})


def test_a_frame_is_delivered_once_to_each_local_socket_in_order_and_other_events_queue():
    async def run() -> tuple[list[tuple[str, Any]], list[Any], int]:
        worker = Worker()
        for i in (1, 2):
            worker.arrives("game.1", {"type": "frame.send", "text": f"t{i}", "seq": i})
        worker.arrives("game.1", {"type": "presence.send", "presence": {}})
        await asyncio.sleep(0.05)
        queued = [worker.layer.channels[n].qsize() for n in ("ca", "cb", "cq")]
        worker.layer.courier.cancel()
        return worker.log, queued, worker.decoded

    log, queued, decoded = asyncio.run(run())
    # every socket gets t1 before any gets t2 (one delivery per message, in arrival order)
    assert sorted(log[:2]) == [("a", "t1"), ("b", "t1")]
    assert sorted(log[2:]) == [("a", "t2"), ("b", "t2")]
    # the presence event in every queue; the frames only in the other consumer's
    assert queued == [1, 1, 3]
    assert decoded == 3  # once per message for the whole worker, not once per socket


def test_a_batch_is_decoded_once_and_each_seat_socket_gets_its_own_frame_in_order():
    """A tick's private messages travel as one batch on the game's group (game/broadcast.py):
    each worker decodes it once and hands each frame to its own sockets of that frame's seat
    group, after the frames before it; seats with no socket here are skipped; a socket that
    does not take frames directly finds its frame, alone, in its queue."""
    from game import broadcast

    async def run() -> tuple[list[tuple[str, Any]], list[Any], int]:
        worker = Worker()
        worker.layer.groups[worker.group("seat.1")] = {"ca"}
        worker.layer.groups[worker.group("seat.2")] = {"cb", "cq"}  # two devices
        privates = [broadcast.frame(f"seat.{i}", f"p{i}", 7) for i in (1, 2, 3)]  # 3: elsewhere
        for group, event in (broadcast.frame("game.1", "tick", 7),
                             broadcast.batch("game.1", privates)):
            worker.arrives(group, event)
        await asyncio.sleep(0.05)
        queue = worker.layer.channels["cq"]
        queued = [worker.decode(queue.get_nowait()) for _ in range(queue.qsize())]
        worker.layer.courier.cancel()
        return worker.log, queued, worker.decoded

    log, queued, decoded = asyncio.run(run())
    assert sorted(log[:2]) == [("a", "tick"), ("b", "tick")]
    assert log[2:] == [("a", "p1"), ("b", "p2")]
    assert [(e["type"], e["text"]) for e in queued] == [("frame.send", "tick"),
                                                         ("frame.send", "p2")]
    assert decoded == 2  # the tick and the batch, once each for the whole worker


def test_frames_arriving_while_a_snapshot_is_built_go_after_it_in_order():
    async def run() -> list[tuple[str, Any]]:
        log: list[tuple[str, Any]] = []
        c = Recorder(log, "c")
        await c.deliver({"text": "t1", "seq": 1})
        async with c.holding():
            await c.deliver({"text": "t2", "seq": 2})
            await c.deliver({"text": "t3", "seq": 3})
            await c._send({"type": "snapshot"})
        await c.deliver({"text": "t4", "seq": 4})
        c.gone = True
        await c.deliver({"text": "t5", "seq": 5})  # disconnected: dropped
        return log

    assert asyncio.run(run()) == [("c", "t1"), ("c", "snapshot"), ("c", "t2"), ("c", "t3"),
                                  ("c", "t4")]


def test_a_broadcast_frame_is_dispatched_without_a_hop_to_the_sync_thread(monkeypatch):
    """Channels' dispatch closes old database connections on the process's one sync thread
    before every handler: with hundreds of sockets a tick's frames queued there in series.
    GameConsumer's dispatch makes no such call (its database calls close their own)."""
    import channels.consumer

    async def hop() -> None:
        raise AssertionError("aclose_old_connections called")

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", hop)
    log: list[tuple[str, Any]] = []
    asyncio.run(Recorder(log, "c").dispatch({"type": "frame.send", "text": "t1", "seq": 1}))
    assert log == [("c", "t1")]


class FakeRedis:
    """Records what a shard sends: single PUBLISHes and pipelines; the first pipeline waits
    for `release` (the lock held while more messages are recorded)."""

    def __init__(self) -> None:
        self.single: list[tuple[str, bytes]] = []
        self.pipelines: list[list[tuple[str, bytes]]] = []
        self.release = asyncio.Event()

    async def publish(self, name: str, data: bytes) -> None:
        self.single.append((name, data))

    async def aclose(self, **kwargs: Any) -> None:  # the layer closes it with the loop
        pass

    def pipeline(self, transaction: bool = False) -> Any:
        fake, items = self, []

        class Pipe:
            def publish(self, name: str, data: bytes) -> None:
                items.append((name, data))

            async def execute(self) -> None:
                if not fake.pipelines:
                    await fake.release.wait()
                fake.pipelines.append(list(items))

        return Pipe()


def test_messages_published_while_the_lock_is_held_go_in_one_pipeline_in_order():
    async def run() -> FakeRedis:
        shard = _layer()._shards[0]
        shard._redis = fake = FakeRedis()
        first = asyncio.ensure_future(shard.publish("g", b"m0"))
        await asyncio.sleep(0)  # m0 holds the lock, its pipeline waiting
        rest = [asyncio.ensure_future(shard.publish("g", f"m{i}".encode())) for i in (1, 2)]
        rest.append(asyncio.ensure_future(shard.publish_many([("h", b"m3"), ("g", b"m4")])))
        await asyncio.sleep(0)
        fake.release.set()
        await asyncio.gather(first, *rest)
        return fake

    fake = asyncio.run(run())
    assert fake.single == []
    assert fake.pipelines == [[("g", b"m0")],
                              [("g", b"m1"), ("g", b"m2"), ("h", b"m3"), ("g", b"m4")]]


def test_a_seat_replaced_message_from_an_older_socket_closes_nothing():
    """Newest wins whatever order the messages arrive in: a socket's `seat.replaced` goes out
    after its snapshot, so an abandoned older attempt's can arrive after the retry opened."""
    from game import errors
    from game.live import identity

    async def run() -> list[int]:
        closed: list[int] = []
        c = Recorder([], "c")
        c.ident = identity.Identity(identity.STUDENT, 1, "ABC", seat_id=5, player="p5")
        c.channel_name, c.opened = "mine", 100.0

        async def close(code: int | None = None, reason: Any = None) -> None:
            closed.append(code or 0)

        c.close = close  # type: ignore[method-assign]
        await c.seat_replaced({"type": "seat.replaced", "by": "older", "opened": 99.0})
        await c.seat_replaced({"type": "seat.replaced", "by": "mine", "opened": 100.0})
        await c.seat_replaced({"type": "seat.replaced", "by": "newer", "opened": 101.0})
        return closed

    assert asyncio.run(run()) == [errors.CLOSE_REPLACED]
