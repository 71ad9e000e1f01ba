"""The embedded default's channel layer: Channels' ``InMemoryChannelLayer`` without its
quadratic broadcast.

Channels' layer runs ``_clean_expired`` (a walk over every channel's queue and every group's
members) on every ``receive`` and every ``group_send``. With N clients on the board group, one
board broadcast is one ``group_send`` plus N ``receive`` calls, each walking N channels: O(N^2)
per batch (measured in ``bench/feed.py``: see ``bench/README.md``). ``group_send`` also creates
one task per member.

This layer keeps the semantics (message expiry, group expiry, capacity, ``ChannelFull`` dropped
for groups as Channels does) but cleans at most once per ``clean_interval`` seconds (default 1),
so expired messages and stale members leave at most that much later, and it puts a group
message straight into each member's queue. One process only, like its parent: production uses
channels-redis.
"""

import asyncio
import time
from copy import deepcopy

from channels.layers import InMemoryChannelLayer


class FanoutInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args, clean_interval: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.clean_interval = clean_interval
        self._next_clean = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_clean:
            return
        self._next_clean = now + self.clean_interval
        super()._clean_expired()

    async def group_send(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = self.groups.get(group)
        if not members:
            return
        expires = time.time() + self.expiry
        for channel in list(members):
            queue = self.channels.get(channel)
            if queue is None:
                queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
            try:
                # a copy per member, as send() makes: a consumer may change the dict it receives
                queue.put_nowait((expires, deepcopy(message)))
            except asyncio.QueueFull:
                continue  # as Channels: a full member misses this group message
        # let the waiting receivers run, as the parent's awaited sends did
        await asyncio.sleep(0)
