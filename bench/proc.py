"""Processes measured and stopped through /proc and process groups: CPU seconds and peak
RSS of a process tree, the load average, a process group's stop."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

__all__ = ["cpu_seconds", "killpg", "loadavg", "peak_rss", "process_tree", "status_bytes"]


CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its descendants, in seconds."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return total / CLK_TCK


def status_bytes(pid: int | str, key: str) -> int:
    """A `kB` line of /proc/<pid>/status (VmHWM, VmRSS) in bytes; 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def peak_rss(pid: int) -> int:
    """The largest VmHWM in the process tree of `pid`."""
    return max((status_bytes(p, "VmHWM") for p in process_tree(pid)), default=0)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def killpg(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to the process group of `proc` and wait for it (SIGKILL after 20 s)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
