"""Message pacing for a bot API: at most one message per ``chat_interval`` seconds to one chat
and ``rate`` messages per second overall, with pauses (a 429's ``retry_after``).

Virtual scheduling (GCRA, a token bucket of one token): ``reserve(chat)`` books the earliest
moment at or after the chat's next allowed time that lies at least ``1 / rate`` s from every
other booked global slot, and returns it; the caller waits until then. So within any window of
``w`` seconds at most ``rate * w + 1`` messages leave, one chat gets at most
``w / chat_interval + 1``, and a chat that must wait does not hold up the others (its slot is
booked in the future; earlier gaps stay free). Thread-safe; shared by the threads of one
process (run Telegram deliveries in one worker process, see README). ``clock`` and ``sleep``
are injectable (tests use a fake clock). Pure: no Django.
"""

import threading
import time
from bisect import bisect_left, insort
from collections.abc import Callable, Hashable


class Pacer:
    def __init__(
        self,
        *,
        rate: float = 25.0,
        chat_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or chat_interval < 0:
            raise ValueError("rate must be positive and chat_interval non-negative")
        self.interval = 1.0 / rate
        self.chat_interval = chat_interval
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._slots: list[float] = []  # booked global send times, sorted
        self._next_chat: dict[Hashable, float] = {}

    def reserve(self, chat: Hashable) -> float:
        """Book a send slot for ``chat``; returns its time on ``clock`` (>= now)."""
        with self._lock:
            now = self.clock()
            slots = self._slots
            del slots[: bisect_left(slots, now - self.interval)]  # past slots no longer matter
            t = max(now, self._paused_until, self._next_chat.get(chat, 0.0))
            i = bisect_left(slots, t)
            if i > 0 and t - slots[i - 1] < self.interval:
                t = slots[i - 1] + self.interval
            while i < len(slots) and slots[i] - t < self.interval:
                t = max(t, slots[i] + self.interval)
                i += 1
            insort(slots, t)
            self._next_chat[chat] = t + self.chat_interval
            if len(self._next_chat) > 100_000:  # forget chats whose next time has passed
                self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
            return t

    def wait(self, chat: Hashable) -> float:
        """Block until ``chat`` may be sent to; returns the seconds waited. A pause that began
        while waiting (another thread's 429) is waited out too: the slot is booked again."""
        start = self.clock()
        while True:
            delay = self.reserve(chat) - self.clock()
            if delay > 0:
                self.sleep(delay)
            with self._lock:
                if self._paused_until <= self.clock():
                    return self.clock() - start

    def pause(self, seconds: float, chat: Hashable | None = None) -> None:
        """Send nothing for ``seconds`` (a 429's ``retry_after``): to ``chat``, or to anyone
        when ``chat`` is None. Slots booked before its end are dropped; their waiters book again."""
        with self._lock:
            until = self.clock() + seconds
            if chat is None:
                self._paused_until = max(self._paused_until, until)
                self._slots = [s for s in self._slots if s >= until]
            else:
                self._next_chat[chat] = max(self._next_chat.get(chat, 0.0), until)
