"""At most FACEROC_MAX_RUNS comparisons at once, the others in line with their place, each able to leave it."""
import threading
import time

import pytest

from faceroc_core.errors import FaceROCError
from faceroc_core.slots import RunQueue, max_runs


def test_first_come_first_served_with_places_and_leaving_the_line():
    q = RunQueue(2)
    a, b, c, d = (q.ticket() for _ in range(4))
    assert [t.place for t in (a, b, c, d)] == [0, 0, 1, 2] and (q.running, q.waiting) == (2, 2)
    c.release()  # leaves the line before its turn: d moves up, nobody else is admitted
    assert d.place == 1 and q.running == 2
    started = []

    def run(t, name):
        with t:
            assert t.admitted(timeout=10)
            started.append(name)

    th = threading.Thread(target=run, args=(d, "d"))
    th.start()
    time.sleep(0.2)
    assert started == []  # both slots taken
    b.release()
    th.join(timeout=10)
    assert started == ["d"] and (q.running, q.waiting) == (1, 0)
    a.release()
    a.release()  # twice is harmless
    assert q.running == 0 and q.waited == 2


def test_a_failing_run_gives_its_slot_back():
    q = RunQueue(1)
    with pytest.raises(RuntimeError):
        with q.ticket() as t:
            assert t.admitted(timeout=0)
            raise RuntimeError("model crashed")
    with q.ticket() as t2:
        assert t2.admitted(timeout=0)


def test_many_threads_never_exceed_the_slots():
    q = RunQueue(3)
    now, peak, lock = [0], [0], threading.Lock()

    def work():
        with q.ticket() as t:
            t.admitted()
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            time.sleep(0.02)
            with lock:
                now[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(24)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert peak[0] == 3 and q.running == 0 and q.waiting == 0


def test_max_runs_from_the_environment(monkeypatch):
    monkeypatch.setenv("FACEROC_MAX_RUNS", "3")
    assert max_runs() == 3
    monkeypatch.delenv("FACEROC_MAX_RUNS")
    assert max_runs() >= 1
    for bad in ("0", "two"):
        monkeypatch.setenv("FACEROC_MAX_RUNS", bad)
        with pytest.raises(FaceROCError, match="FACEROC_MAX_RUNS"):
            max_runs()
