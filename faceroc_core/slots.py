"""At most N comparisons at once on a shared server, the others waiting in line (first come, first served) with
their place known, each able to leave the line.

``FACEROC_MAX_RUNS`` sets N (default: half the CPU cores, at least 1: one comparison already uses every core
through onnxruntime's threads, so more at once only slow each other and the pages down).

>>> q = RunQueue(1)
>>> first, second = q.ticket(), q.ticket()
>>> first.admitted(), second.admitted(timeout=0), second.place
(True, False, 1)
>>> first.release(); second.admitted(timeout=0)
True
>>> second.release(); q.running, q.waiting
(0, 0)
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from .errors import FaceROCError


def max_runs() -> int:
    """``$FACEROC_MAX_RUNS``, else half the cores (at least 1)."""
    raw = os.environ.get("FACEROC_MAX_RUNS", "").strip()
    if not raw:
        return max(1, (os.cpu_count() or 2) // 2)
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise FaceROCError(f"FACEROC_MAX_RUNS must be a whole number of at least 1, got {raw!r}",
                           hint="unset it for the default (half the CPU cores)")
    return n


class RunQueue:
    """``slots`` comparisons at a time; the others wait in the order they came (module text)."""

    def __init__(self, slots: int):
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self.slots = slots
        self._cond = threading.Condition()
        self._line: list[Ticket] = []  # waiting, first come first
        self._running: set[int] = set()
        self._next = 0
        self.waited = 0  # tickets that had to wait (for the server's own figures)

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._line)

    def ticket(self) -> Ticket:
        """A place in line (admitted at once when a slot is free)."""
        with self._cond:
            self._next += 1
            t = Ticket(queue=self, number=self._next)
            self._line.append(t)
            self._admit()
            if not t._admitted:
                self.waited += 1
            return t

    def _admit(self) -> None:  # with the lock held
        while self._line and len(self._running) < self.slots:
            t = self._line.pop(0)
            t._admitted = True
            self._running.add(t.number)
        self._cond.notify_all()

    def _place(self, t: Ticket) -> int:
        with self._cond:
            return 0 if t._admitted else self._line.index(t) + 1 if t in self._line else 0

    def _wait(self, t: Ticket, timeout: float | None) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: t._admitted or t._left, timeout=timeout)
            return t._admitted and not t._left

    def _leave(self, t: Ticket) -> None:
        with self._cond:
            if t._left:
                return
            t._left = True
            if t in self._line:
                self._line.remove(t)
            self._running.discard(t.number)
            self._admit()


@dataclass(eq=False)
class Ticket:
    """One comparison's place: :meth:`admitted` waits for its slot, :meth:`release` (or leaving the ``with``)
    gives the slot — or the place in line — back."""

    queue: RunQueue
    number: int
    _admitted: bool = field(default=False, repr=False)
    _left: bool = field(default=False, repr=False)

    @property
    def place(self) -> int:
        """0 once admitted; else 1 for the next in line, 2 behind it..."""
        return self.queue._place(self)

    def admitted(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for a slot; whether it has one."""
        return self.queue._wait(self, timeout)

    def release(self) -> None:
        self.queue._leave(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
