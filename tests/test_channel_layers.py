"""The embedded default's channel layer keeps Channels' in-memory semantics while broadcasting
without walking every channel on every receive."""

import asyncio
import time

import pytest
from channels.layers import InMemoryChannelLayer

from core.channel_layers import FanoutInMemoryChannelLayer


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_group_message_reaches_every_member_and_no_one_else():
    async def scenario():
        layer = FanoutInMemoryChannelLayer()
        members = [await layer.new_channel() for _ in range(50)]
        outsider = await layer.new_channel()
        for channel in members:
            await layer.group_add("board", channel)
        await layer.group_send("board", {"type": "board.message", "text": "x"})
        received = [await asyncio.wait_for(layer.receive(c), 1) for c in members]
        return received, outsider in layer.channels

    received, outsider_has_a_queue = run(scenario())
    assert received == [{"type": "board.message", "text": "x"}] * 50
    assert not outsider_has_a_queue


def test_each_member_gets_its_own_copy():
    async def scenario():
        layer = FanoutInMemoryChannelLayer()
        a, b = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("g", a)
        await layer.group_add("g", b)
        await layer.group_send("g", {"type": "m", "payload": {"n": 1}})
        first = await layer.receive(a)
        first["payload"]["n"] = 2
        return await layer.receive(b)

    assert run(scenario())["payload"] == {"n": 1}


def test_a_full_member_misses_the_message_and_the_others_still_get_it():
    async def scenario():
        layer = FanoutInMemoryChannelLayer(capacity=1)
        full, free = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("g", full)
        await layer.group_add("g", free)
        await layer.send(full, {"type": "first"})
        await layer.group_send("g", {"type": "second"})
        return [await layer.receive(full), await layer.receive(free), layer.channels.get(full)]

    first, second, left = run(scenario())
    assert (first, second, left) == ({"type": "first"}, {"type": "second"}, None)


def test_expired_messages_still_drop_their_channel_from_groups():
    async def scenario():
        layer = FanoutInMemoryChannelLayer(expiry=0.05, clean_interval=0)
        gone, alive = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("g", gone)
        await layer.group_send("g", {"type": "never read"})
        await asyncio.sleep(0.1)
        await layer.group_add("g", alive)
        await layer.group_send("g", {"type": "fresh"})
        return set(layer.groups["g"]), alive, await layer.receive(alive), gone in layer.channels

    members, alive, message, gone_has_a_queue = run(scenario())
    assert members == {alive} and message == {"type": "fresh"} and not gone_has_a_queue


def test_cleaning_runs_at_most_once_per_interval(monkeypatch):
    calls = []
    monkeypatch.setattr(InMemoryChannelLayer, "_clean_expired", lambda self: calls.append(time.monotonic()))

    async def scenario():
        layer = FanoutInMemoryChannelLayer(clean_interval=60)
        channels = [await layer.new_channel() for _ in range(20)]
        for channel in channels:
            await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "m"})
        for channel in channels:
            await layer.receive(channel)

    run(scenario())
    assert len(calls) == 1  # Channels' own layer: 21 (one per group_send and per receive)


@pytest.mark.parametrize("layer_class", [InMemoryChannelLayer, FanoutInMemoryChannelLayer])
def test_both_layers_deliver_the_same_messages_in_the_same_order(layer_class):
    async def scenario():
        layer = layer_class()
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        for n in range(5):
            await layer.group_send("g", {"type": "m", "n": n})
        return [(await layer.receive(channel))["n"] for _ in range(5)]

    assert run(scenario()) == [0, 1, 2, 3, 4]
