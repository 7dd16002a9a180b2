"""The embedded backend: one daemon worker thread per app and process, fed by a queue.

:class:`ThreadWorker` runs each submitted call inside a fresh ``app.app_context()``, so the
call has its own Flask-SQLAlchemy session (sessions are scoped per app context) and the
session is removed when the call ends. The thread starts on the first :meth:`submit`, and
again in a child process after a fork (a thread does not survive ``fork``). A call that
raises is logged with its traceback and the thread goes on with the next one.

A run handed to this backend lives only as long as the process: its ``job_id`` names the
process (:func:`process_job_id`: host, pid and the process's start time), so any other
process on the same host can tell whether the run's worker is gone
(:func:`process_gone`), e.g. after the server restarted.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

__all__ = ["ThreadWorker", "process_gone", "process_job_id"]

PREFIX = "thread"
# job_id is a String(64): "thread:" + host + ":" + pid + ":" + start time fits.
HOST_CHARACTERS = 32

logger = logging.getLogger("survey")  # the app's logger (Flask names it after the package)


class ThreadWorker:
    """A queue of calls and the one daemon thread that runs them for ``app``."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` on the worker thread, in its own app context."""
        with self._lock:
            self._after_fork()
            self._queue.put((function, args))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="survey-jobs", daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted call has finished; False when ``timeout`` seconds
        passed first."""
        deadline = time.monotonic() + timeout
        condition = self._queue.all_tasks_done
        with condition:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                condition.wait(remaining)
        return True

    def shutdown(self, timeout: float) -> bool:
        """Let the thread finish what is queued, then stop it; False if it is still running
        after ``timeout`` seconds (it is a daemon: it does not keep the process alive)."""
        with self._lock:
            thread = self._thread
            if thread is None or not thread.is_alive():
                return True
            self._queue.put(None)
        thread.join(timeout)
        return not thread.is_alive()

    def _after_fork(self) -> None:
        if self._pid != os.getpid():  # a forked child: the parent's thread and queue are not ours
            self._pid = os.getpid()
            self._queue = queue.Queue()
            self._thread = None

    def _work(self) -> None:
        work = self._queue
        while True:
            task = work.get()
            try:
                if task is None:
                    return
                function, args = task
                with self.app.app_context():
                    function(*args)
            except BaseException:  # nothing a call does may end the worker
                logger.exception("background job %r failed", task)
            finally:
                work.task_done()


def process_job_id() -> str:
    """``thread:<host>:<pid>:<start>``: the job id of a run this process's thread runs.

    ``<start>`` is the process's start time in clock ticks since boot (Linux ``/proc``;
    empty elsewhere), so a pid used again by a later process does not pass for the old one.
    """
    host = socket.gethostname()[:HOST_CHARACTERS]
    pid = os.getpid()
    return f"{PREFIX}:{host}:{pid}:{_start_time(pid) or ''}"


def process_gone(job_id: str | None) -> bool:
    """Whether the process a thread run's ``job_id`` names has ended (this host only).

    False when it may still be running: the process is alive, or it ran on another host
    (which this process cannot look at), or ``job_id`` is not a thread job id.
    """
    parts = (job_id or "").split(":")
    if len(parts) != 4 or parts[0] != PREFIX or not parts[2].isdigit():
        return False
    _prefix, host, pid_text, started = parts
    if host != socket.gethostname()[:HOST_CHARACTERS]:
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        pass
    now_started = _start_time(pid)
    return bool(started and now_started and started != now_started)


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    # Field 22 (starttime); the command name (field 2) may hold spaces and parentheses.
    fields = text.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None
