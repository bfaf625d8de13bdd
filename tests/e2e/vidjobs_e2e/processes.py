"""Start, watch and stop the background processes of one e2e run.

Every process is started in its own session (``start_new_session=True``), so it leads its own process
group: stopping it signals the whole group (the LocalExecutor's workers, the triggerer's runner
subprocess, uvicorn's workers) by PID, never by name. Ctrl-C in the terminal reaches only pytest, which
then tears everything down in order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class ProcessDiedError(RuntimeError):
    """A component exited while the run still needed it."""


@dataclass
class ManagedProcess:
    """One started process (and its process group) plus the file its output goes to."""

    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 40) -> str:
        """Last lines of the process' output, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        if not self.alive():
            raise ProcessDiedError(
                f"{self.name} (pid {self.pid}) exited with {self.popen.returncode}; last output:\n{self.tail()}"
            )


def _signal_group(pgid: int, sig: int) -> bool:
    """Signal a process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    return _signal_group(pgid, 0)


class ProcessRegistry:
    """All processes one run started, stopped in reverse start order."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[ManagedProcess] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> ManagedProcess:
        """Start ``argv`` in a new session with stdout and stderr appended to ``<log_dir>/<name>.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
            )
        proc = ManagedProcess(name=name, argv=list(argv), popen=popen, log_path=log_path)
        self.procs.append(proc)
        return proc

    def get(self, name: str) -> ManagedProcess:
        for proc in reversed(self.procs):
            if proc.name == name:
                return proc
        raise KeyError(name)

    def kill9(self, proc: ManagedProcess) -> None:
        """SIGKILL the whole process group at once, as an OOM kill or a lost node would."""
        _signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=10)

    def stop(self, proc: ManagedProcess, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        """Ask the group to stop with ``sig``; SIGKILL whatever is left after ``timeout`` seconds."""
        pgid = proc.pid
        if proc.alive():
            _signal_group(pgid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=timeout)
        deadline = time.monotonic() + 5
        _signal_group(pgid, signal.SIGKILL)
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=5)

    def stop_all(self, timeout: float = 20.0) -> list[str]:
        """Stop every process (newest first); returns error strings instead of raising."""
        errors: list[str] = []
        for proc in reversed(self.procs):
            try:
                self.stop(proc, timeout=timeout)
            except Exception as exc:  # keep stopping the others
                errors.append(f"stopping {proc.name} (pid {proc.pid}): {exc!r}")
        return errors


def pids_with_environ_marker(marker: str) -> list[int]:
    """PIDs of processes whose environment contains ``marker`` (a unique path of this run).

    A last-resort sweep for processes that left our process groups (e.g. by calling ``setsid``).
    """
    needle = marker.encode()
    found: list[int] = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ:
            found.append(int(entry.name))
    return found


def kill_stragglers(marker: str) -> list[int]:
    """SIGKILL processes still carrying this run's marker; returns their PIDs."""
    pids = pids_with_environ_marker(marker)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return pids


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.5, what: str = "condition") -> None:
    """Poll ``predicate()`` until truthy; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
