"""Process helpers shared by the service wrappers.

The daemons run as our children in the foreground (sshd -D, dovecot -F,
redis --daemonize no) so that we reap them ourselves: PID 1 on these
machines is not a classic init and may leave zombies behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def spawn(argv: list[str], output: Path) -> subprocess.Popen[bytes]:
    """Start a foreground daemon as our child, in a session of its own, its output appended to output."""
    with output.open("ab") as log:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # Field 3 is the state; the command name in field 2 may contain spaces.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children_map() -> dict[int, list[int]]:
    """ppid -> child pids, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def children(pid: int) -> list[int]:
    """Direct children of pid."""
    return _children_map().get(pid, [])


def descendants(pid: int) -> list[int]:
    """All live descendants of pid (by walking /proc ppid links)."""
    children = _children_map()
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_quietly(pid: int, sig: int = signal.SIGTERM) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_gone(pids: list[int], timeout: float = 10) -> None:
    """Wait until none of pids is alive; SIGKILL whatever is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return
        time.sleep(0.05)
    for p in pids:
        kill_quietly(p, signal.SIGKILL)


def stop_tree(proc: subprocess.Popen[bytes], timeout: float = 10, also: list[int] | None = None) -> None:
    """SIGTERM a foreground daemon and everything it forked, then reap it.

    sshd's per-connection children call setsid(), so a process-group kill
    would miss them; we collect the tree from /proc instead. `also` names
    pids collected earlier (children orphaned once their parent exited).
    """
    tree = descendants(proc.pid) + [p for p in also or [] if alive(p)]
    kill_quietly(proc.pid)
    for p in tree:
        kill_quietly(p)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    wait_gone(tree, timeout)


def started_at(pid: int) -> float | None:
    """Wall-clock start time of pid (10 ms ticks), None if it is gone.

    /proc gives ticks since boot; /proc/stat's btime is whole seconds, so
    convert with CLOCK_BOOTTIME instead, which is exact.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime
    boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    return boot + ticks / os.sysconf("SC_CLK_TCK")
