"""The default channel layer with REDIS_URL (CHANNEL_LAYER=pubsub): channels_redis' pub/sub
layer, plus a per-worker fan-out of broadcast frames and a pipelined publish of a tick's frames
(docs/performance.md, round 2).

channels_redis hands every group message to each local socket's queue as raw bytes; each
socket's consumer task then wakes up, decodes it (msgpack: the 8 kB `tick` once per socket) and
runs its handler. Here a `frame.send` event (a pre-encoded broadcast, game/broadcast.py) is
decoded once per worker and handed, in the order Redis delivered it, to one delivery task that
sends it to each local socket of the group in turn (`GameConsumer.deliver`). Other events
(presence, kicks, a replaced seat, a logout) still take the consumer's own queue.

Order is kept as before: one task delivers the frames in arrival order, and a consumer busy in a
handler (building a snapshot, answering a command) holds the frames that arrive meanwhile and
sends them after it (`GameConsumer.dispatch`), as its queue did.

A `frame.batch` (a tick's private messages, game/broadcast.py `batch`) is one message to the
game's group: each worker decodes it once and hands each of its frames to the local sockets of
that frame's group (a seat's), in the batch's order, through the same delivery task: the engine
publishes, Redis routes and each worker parses one message a tick instead of one per student.

`group_send_many` publishes a tick's frames (the public `tick`, then the private batch and the
console's frames) in one Redis pipeline, in order, instead of one round trip each.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close

log = logging.getLogger(__name__)

FRAME = "frame.send"
BATCH = "frame.batch"  # game/broadcast.py `batch`
Delivery = list[tuple[list["Receiver"], dict[str, Any]]]  # frames and who gets each, in order


class Receiver(Protocol):
    """A socket that takes frames straight from the layer (GameConsumer)."""

    async def deliver(self, event: dict[str, Any]) -> None: ...


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """channels_redis' RedisPubSubChannelLayer building `FanoutLoopLayer`s."""

    def _get_layer(self) -> "FanoutLoopLayer":
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = FanoutLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer


class FanoutLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hosts = [s.host for s in vars(self)["_shards"]]
        self._shards = [FanoutShard(host, self) for host in hosts]
        self.receivers: dict[str, Receiver] = {}
        self.outbox: asyncio.Queue[Delivery] = asyncio.Queue()
        self.courier: asyncio.Task[None] | None = None

    def register(self, channel: str, receiver: Receiver) -> None:
        """Frames for `channel`'s groups go to `receiver.deliver` from now on."""
        self.receivers[channel] = receiver
        if self.courier is None or self.courier.done():
            self.courier = asyncio.ensure_future(self._deliver_forever())

    def unregister(self, channel: str) -> None:
        self.receivers.pop(channel, None)

    async def _deliver_forever(self) -> None:
        while True:
            for receivers, event in await self.outbox.get():
                for receiver in receivers:
                    try:
                        await receiver.deliver(event)
                    except Exception:  # one socket's failure must not stop the others' frames
                        log.exception("delivering a frame to %r failed", receiver)

    def fan_out(self, group_channel: str, data: bytes) -> bool:
        """A group message: True if its frame (or batch of frames) was handled here: queued for
        delivery to the local sockets that take frames directly, the rest given it in their
        queues. False for any other event (the layer puts it in the group's sockets' queues)."""
        members = self.groups.get(group_channel)
        if not members:
            return False
        event = self.channel_layer.deserialize(data)
        kind = event.get("type")
        delivery: Delivery = []
        if kind == FRAME:
            self._route(members, event, data, delivery)
        elif kind == BATCH:
            for group, frame in event["frames"]:
                local = self.groups.get(self._get_group_channel_name(group))
                if local:
                    self._route(local, frame, None, delivery)
        else:
            return False
        if delivery:
            self.outbox.put_nowait(delivery)
        return True

    def _route(self, members: set[str], event: dict[str, Any], data: bytes | None,
               delivery: Delivery) -> None:
        """One frame to these local sockets: to the delivery for those that take frames
        directly, to the queue of any other (`data`: the frame as the layer encodes it)."""
        direct: list[Receiver] = []
        for name in members:
            receiver = self.receivers.get(name)
            if receiver is not None:
                direct.append(receiver)
            elif name in self.channels:
                if data is None:
                    data = self.channel_layer.serialize(event)
                self.channels[name].put_nowait(data)
        if direct:
            delivery.append((direct, event))

    async def group_send_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """Publish each (group, message) in order, one pipeline per shard."""
        by_shard: dict[int, list[tuple[str, bytes]]] = {}
        for group, message in messages:
            name = self._get_group_channel_name(group)
            index = self._shards.index(self._get_shard(name))
            by_shard.setdefault(index, []).append((name, self.channel_layer.serialize(message)))
        for index, items in by_shard.items():
            await self._shards[index].publish_many(items)


class FanoutShard(RedisSingleShardConnection):
    """One Redis connection's subscriptions and publishes, sent in batches: channels_redis
    sends one SUBSCRIBE, UNSUBSCRIBE or PUBLISH per call under one lock, and each hand-off of
    that lock costs a turn of the event loop; a reconnect storm of 1,000 sockets (a new channel
    and a seat group each, on both ends, and a presence and a replaced-seat message each)
    queued thousands of them on a busy loop (docs/performance.md, round 2). Here a call records
    its change or message and whoever holds the lock sends everything recorded so far: one
    SUBSCRIBE and one UNSUBSCRIBE, then the messages in the order they were recorded, in one
    pipeline. If that fails, the holder raises and the batch's changes and messages wait for
    the next call; the other callers of the batch are not told (a lost broadcast is healed by
    a client's snapshot on its seq gap)."""

    channel_layer: FanoutLoopLayer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._want: dict[str, bool] = {}  # channel -> subscribed (True) or not, not yet sent
        self._out: list[tuple[str, bytes]] = []  # (channel, message) not yet published

    async def subscribe(self, channel: str) -> None:
        self._want[channel] = True
        await self._send_pending()

    async def unsubscribe(self, channel: str) -> None:
        self._want[channel] = False
        await self._send_pending()

    async def publish(self, channel: str, message: bytes) -> None:
        self._out.append((channel, message))
        await self._send_pending()

    async def publish_many(self, items: list[tuple[str, bytes]]) -> None:
        self._out.extend(items)
        await self._send_pending()

    async def _send_pending(self) -> None:
        async with self._lock:
            if not self._want and not self._out:
                return  # sent by the holder before us
            want, self._want = self._want, {}
            out, self._out = self._out, []
            try:
                await self._subscriptions(want)
                if out:
                    self._ensure_redis()
                    pipe = self._redis.pipeline(transaction=False)
                    for name, data in out:
                        pipe.publish(name, data)
                    await pipe.execute()
            except BaseException:  # not sent: the next call tries these again
                self._want = {**want, **self._want}
                self._out = out + self._out
                raise

    async def _subscriptions(self, want: dict[str, bool]) -> None:
        add = [c for c, v in want.items() if v and c not in self._subscribed_to]
        drop = [c for c, v in want.items() if not v and c in self._subscribed_to]
        if not add and not drop:
            return
        self._ensure_redis()
        self._ensure_receiver()
        if add:
            await self._pubsub.subscribe(*add)
            self._subscribed_to.update(add)
        if drop:
            await self._pubsub.unsubscribe(*drop)
            self._subscribed_to.difference_update(drop)

    def _receive_message(self, message: Any) -> None:
        if message is not None:
            name = message["channel"]
            if isinstance(name, bytes):
                name = name.decode()
            if name in self.channel_layer.groups and self.channel_layer.fan_out(
                    name, message["data"]):
                return
        super()._receive_message(message)


def fanout_layer(layer: Any) -> FanoutLoopLayer | None:
    """The running loop's fan-out layer behind `layer`, if it is one (inside a coroutine)."""
    if isinstance(layer, PubSubChannelLayer):
        return layer._get_layer()
    return None
