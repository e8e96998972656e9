"""Which process this is, on which host, and whether another process is still alive.

Every container the workbook creates carries its session's labels (see helpers.labels): a
random session id, the host id (the machine's boot id and the process's pid namespace), the pid
and the process's start time. A pid alone proves nothing (pids are reused, and in JupyterHub-style
pods everyone is jovyan with small pids); pid and start time together name one process on one host.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SESSION_ID = uuid.uuid4().hex[:16]
UNKNOWN = ""
_notebook = [""]  # the notebook this kernel runs (wb.start names it)


def use_notebook(name: str) -> None:
    """Note which notebook this kernel runs, so what it creates can be traced back to it."""
    _notebook[0] = name


def current_notebook() -> str:
    """The notebook this kernel runs ("" outside one)."""
    return _notebook[0]


@dataclass(frozen=True)
class Process:
    host: str
    pid: int
    start: str


def host_id() -> str:
    """This machine's boot id and this process's pid namespace; "" where there is no /proc."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text()[:64].strip()
        namespace = os.readlink("/proc/self/ns/pid")[:64]
    except OSError:
        return UNKNOWN
    return f"{boot}/{namespace}" if boot else UNKNOWN


def start_time(pid: int) -> str:
    """The start time of process `pid` in clock ticks since boot (/proc/PID/stat field 22); "" if
    there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read(4096).decode(errors="replace")
    except OSError:
        return UNKNOWN
    # The command name (field 2) is in parentheses and may hold spaces or ")": split after the last ")".
    fields = text.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else UNKNOWN  # fields[0] is field 3


@cache
def _process(pid: int) -> Process:
    return Process(host_id(), pid, start_time(pid))


def this_process() -> Process:
    return _process(os.getpid())  # keyed by pid: a forked child is a process of its own


def gone(process: Process) -> bool:
    """True only when `process` ran on this host (same boot, same pid namespace) and is gone: no
    process has its pid, or the one that has it started at another time. A process of another
    host, or anywhere this cannot be known, is never taken as gone."""
    me = this_process()
    if me.host == UNKNOWN or process.host != me.host or not process.start:
        return False
    if process == me:
        return False
    return start_time(process.pid) != process.start
