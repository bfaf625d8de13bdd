"""A private PostgreSQL server for one e2e run: Debian's binaries, a temp data dir, a free port.

The server never touches a system cluster: ``initdb`` writes into a directory of this run, ``postgres``
listens on 127.0.0.1 only (Unix socket in the same directory), and stopping it removes nothing but
what this run created. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .processes import ManagedProcess, ProcessRegistry, wait_until

DB_NAME = "airflow"
DB_USER = "airflow"


def find_bindir() -> Path | None:
    """Directory of the newest Debian PostgreSQL server binaries, or ``pg_config --bindir``."""
    candidates = []
    for path in Path("/usr/lib/postgresql").glob("*/bin/postgres"):
        version = path.parent.parent.name
        if re.fullmatch(r"\d+", version) and os.access(path, os.X_OK):
            candidates.append((int(version), path.parent))
    if candidates:
        return max(candidates)[1]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(out.stdout.strip())
        if (bindir / "postgres").exists() and (bindir / "initdb").exists():
            return bindir
    return None


def ensure_installed() -> Path:
    """Return the server bindir, installing Debian's ``postgresql`` package first if it is missing.

    Debian's package would create and start a ``main`` cluster on port 5432; we tell postgresql-common
    not to (``create_main_cluster = false``) because this harness runs its own server.
    """
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            "PostgreSQL server binaries not found and cannot install them (need root and apt-get): "
            "install Debian's 'postgresql' package"
        )
    conf_dir = Path("/etc/postgresql-common")
    conf_dir.mkdir(parents=True, exist_ok=True)
    createcluster = conf_dir / "createcluster.conf"
    if not createcluster.exists():
        createcluster.write_text("create_main_cluster = false\n")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-o", "Dpkg::Options::=--force-confold", "postgresql"],
        check=True,
        env=env,
    )
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("installed the 'postgresql' package but found no server binaries")
    return bindir


def _server_user() -> str | None:
    """The account to run the server as: ourselves, or ``postgres`` (``nobody``) when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and found neither a 'postgres' nor a 'nobody' account")


class PostgresServer:
    """initdb + postgres on a private directory and port; ``url`` is Airflow's SQLAlchemy URL."""

    def __init__(
        self, base_dir: Path, port: int, registry: ProcessRegistry, extra_env: dict[str, str] | None = None
    ) -> None:
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.socket_dir = base_dir / "sock"
        self.port = port
        self.registry = registry
        self.user = _server_user()
        self.bindir = ensure_installed()
        self.proc: ManagedProcess | None = None
        self.extra_env = dict(extra_env or {})

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    @property
    def dsn(self) -> str:
        """libpq DSN for direct queries (psycopg2)."""
        return f"host=127.0.0.1 port={self.port} user={DB_USER} dbname={DB_NAME}"

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self) -> None:
        """initdb, start the server, create the ``airflow`` database."""
        for path in (self.base_dir, self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o700)
            self._chown(path)
        if self.user is not None:
            # The server user must be able to traverse into our (root-owned, 0700) temp dir.
            parent = self.base_dir.parent
            parent.chmod(parent.stat().st_mode | 0o111)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        env.update(self.extra_env)
        initdb = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                DB_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            user=self.user,
            cwd=self.base_dir,
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}")
        self.proc = self.registry.start(
            "postgres",
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-k",
                str(self.socket_dir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=128MB",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            env,
            cwd=self.base_dir,
            user=self.user,
        )
        wait_until(self._ready, timeout=60, interval=0.3, what="PostgreSQL to accept connections")
        self.psql("postgres", f"CREATE DATABASE {DB_NAME}")

    def _ready(self) -> bool:
        assert self.proc is not None
        self.proc.check_alive()
        out = subprocess.run(
            [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER],
            capture_output=True,
            check=False,
        )
        return out.returncode == 0

    def psql(self, dbname: str, sql: str) -> str:
        """Run one SQL statement through ``psql`` and return its unaligned output."""
        out = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                DB_USER,
                "-d",
                dbname,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    def stop(self) -> None:
        """Fast shutdown (SIGINT), SIGKILL after 20 s."""
        if self.proc is not None:
            self.registry.stop(self.proc, sig=signal.SIGINT, timeout=20)
            self.proc = None

    def wait_stopped(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while (self.data_dir / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
