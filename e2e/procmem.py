"""Memory of a browser's whole process tree, read from /proc (Linux only).

Browsers split into many processes (renderer, GPU, network, content); PSS shares each page of
memory among the processes that map it, so the sum over the tree counts every byte once.
"""
import os
import threading
from pathlib import Path


def process_children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: the fields start after the last ')'
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(root: int) -> list[int]:
    children = process_children()
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def descendant_named(root: int, names: tuple[str, ...]) -> int | None:
    """The first process below `root` (breadth first) whose name is one of `names`."""
    children = process_children()
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop(0)
        if process_name(pid) in names:
            return pid
        todo.extend(children.get(pid, []))
    return None


def pss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:  # the process ended between listing and reading
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
                break
    return total


class PssSampler:
    """Samples the PSS of a process tree in a thread; `peak` is the largest sum seen."""

    def __init__(self, root: int, period_s: float = 0.2):
        self.root, self.period_s = root, period_s
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not os.path.exists(f"/proc/{self.root}"):
                return
            self.peak = max(self.peak, pss_bytes(process_tree(self.root)))
            self.samples += 1
            self._stop.wait(self.period_s)

    def __enter__(self) -> "PssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
