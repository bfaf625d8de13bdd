"""Running the simulator: uvicorn (httptools + uvloop when installed) on a socket we bind ourselves,
either in the foreground (CLI), in a background thread with its own event loop, or in a subprocess
(so a benchmark's clients and the server use different cores)."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from airflow_provider_vidjobs.testing.simulator.app import SimulatorApp
from airflow_provider_vidjobs.testing.simulator.config import SimulatorConfig
from airflow_provider_vidjobs.testing.simulator.handle import SimulatorHandle
from airflow_provider_vidjobs.testing.simulator.protocol import counting_protocol_class
from airflow_provider_vidjobs.testing.simulator.state import SimState

READY_PREFIX = "vidjobs-simulator listening on "


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def socket_url(sock: socket.socket, scheme: str = "http") -> str:
    """``http://host:port`` (or ``https://``) for a bound socket (wildcard hosts become loopback)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", ""):  # noqa: S104 - only rewriting for display
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        return "asyncio"
    return "uvloop"


def make_server(config: SimulatorConfig, state: SimState, on_ready: Callable[[], None] | None = None) -> Any:
    """A ``uvicorn.Server`` for the simulator app (no access log, no lifespan, quick shutdown)."""
    import uvicorn

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if on_ready is not None and self.started:
                on_ready()

    uconfig = uvicorn.Config(
        SimulatorApp(state),
        http=counting_protocol_class(state.tracker),
        loop=_loop_name(),
        lifespan="off",
        log_level=config.log_level,
        access_log=False,
        server_header=False,
        timeout_keep_alive=max(1, round(config.keep_alive_timeout_s)),
        timeout_graceful_shutdown=2,
        backlog=2048,
        ssl_certfile=config.ssl_certfile,
        ssl_keyfile=config.ssl_keyfile,
    )
    return _Server(uconfig)


def serve_forever(config: SimulatorConfig, on_ready: Callable[[str], None]) -> None:
    """Run in the foreground until SIGINT/SIGTERM; ``on_ready(url)`` once it accepts connections."""
    sock = bind_socket(config.host, config.port)
    url = socket_url(sock, config.scheme)
    server = make_server(config, SimState(config), lambda: on_ready(url))
    server.run(sockets=[sock])


def start_simulator(
    config: SimulatorConfig | None = None, *, startup_timeout_s: float = 15.0, **fields: Any
) -> SimulatorHandle:
    """Start a simulator in a background thread (its own event loop); returns a handle.

    Pass a ``SimulatorConfig`` or its fields as keywords (``time_scale=10``, ``port=8123``...).
    """
    cfg = config if config is not None else SimulatorConfig(**fields)
    sock = bind_socket(cfg.host, cfg.port)
    url = socket_url(sock, cfg.scheme)
    ready = threading.Event()
    server = make_server(cfg, SimState(cfg), ready.set)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name=f"vidjobs-simulator {url}", daemon=True)
    thread.start()
    if not ready.wait(startup_timeout_s) or failure or not server.started:
        server.should_exit = True
        raise RuntimeError(f"vidjobs-simulator did not start: {failure[0] if failure else 'timeout'}")

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return SimulatorHandle(url, cfg, stop)


def config_to_args(cfg: SimulatorConfig) -> list[str]:
    """CLI arguments that rebuild ``cfg`` in another process."""
    args = ["--host", cfg.host, "--port", str(cfg.port), "--time-scale", repr(cfg.time_scale)]
    args += ["--url-ttl-s", repr(cfg.url_ttl_s)]
    for name, value in cfg.options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    args += ["--keep-alive-timeout-s", repr(cfg.keep_alive_timeout_s), "--log-level", cfg.log_level]
    for api, keys in cfg.keys.items():
        flag = api.replace("_", "-")
        for key in keys:
            args += [f"--{flag}-key", key]
        if not keys:
            args.append(f"--no-{flag}-keys")
    if cfg.poll_after_ms is not None:
        args += ["--poll-after-ms", str(cfg.poll_after_ms)]
    if cfg.timeline:
        args += ["--timeline", json.dumps(cfg.timeline)]
    for rule in cfg.faults:
        args += ["--fault", json.dumps(rule)]
    if cfg.seed is not None:
        args += ["--seed", str(cfg.seed)]
    if cfg.storage_secret is not None:
        args += ["--storage-secret", cfg.storage_secret]
    if cfg.ssl_certfile:
        args += ["--ssl-certfile", cfg.ssl_certfile]
    if cfg.ssl_keyfile:
        args += ["--ssl-keyfile", cfg.ssl_keyfile]
    return args


def start_simulator_process(
    config: SimulatorConfig | None = None,
    *,
    cpu: int | None = None,
    startup_timeout_s: float = 30.0,
    stderr: Any = None,
    **fields: Any,
) -> SimulatorHandle:
    """Start a simulator in a child process (``python -m ...simulator.cli``), optionally pinned to
    one CPU core; returns a handle whose ``stop()`` sends SIGTERM."""
    cfg = config if config is not None else SimulatorConfig(**fields)
    cmd = [sys.executable, "-m", "airflow_provider_vidjobs.testing.simulator.cli", *config_to_args(cfg)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None

    def pump() -> None:
        for line in stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, name="vidjobs-simulator stdout", daemon=True).start()
    try:
        line = lines.get(timeout=startup_timeout_s)
    except queue.Empty:
        line = ""
    if not line.startswith(READY_PREFIX):
        proc.kill()
        proc.wait(5)
        raise RuntimeError(f"vidjobs-simulator process did not start (exit {proc.poll()}, said {line!r})")
    url = line[len(READY_PREFIX) :].strip()

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    return SimulatorHandle(url, cfg, stop, process=proc)
