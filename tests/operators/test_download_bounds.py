"""Every read of a download is bounded, against a real HTTP server that misbehaves on purpose.

Storage that content-encodes a file although we ask for ``identity`` (legitimately, or as a
compression bomb), and a refusal whose body never ends: the operator writes the right bytes or
fails with a clear :class:`DownloadError`, and never decodes or reads without a limit.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vidjobs.exceptions import DownloadError
from airflow_provider_vidjobs.hooks.assets import DECODED_FLOOR_BYTES, ERROR_BODY_BYTES, AssetSource
from airflow_provider_vidjobs.hooks.registry import hook_class
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

MIB = 1024 * 1024
#: Incompressible "video" bytes: gzip cannot shrink them, as with a real video.
VIDEO = hashlib.shake_256(b"vidjobs").digest(3 * MIB + 17)
#: Zeros well past the decode floor, gzip-compressed to a few hundred KB.
BOMB_DECODED = DECODED_FLOOR_BYTES + 96 * MIB


def _bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MIB)
    return b"".join(packer.compress(block) for _ in range(BOMB_DECODED // MIB)) + packer.flush()


class Storage:
    """A storage server: each path answers one way; it records what it was asked and sent."""

    def __init__(self) -> None:
        self.bomb = _bomb()
        self.asked: list[dict[str, str]] = []
        self.sent: dict[str, int] = {}
        storage = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                storage.asked.append({k.lower(): v for k, v in self.headers.items()})
                # A client that stops reading (refusing a body) shows up here as a broken pipe.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    storage.answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        if path == "/refused-forever":
            head = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            request.send_response(403)
            request.send_header("Content-Type", "application/xml")
            request.send_header("Content-Length", str(len(head) + 200 * MIB))
            request.end_headers()
            self.sent[path] = 0
            for chunk in [head] + [b" " * MIB] * 200:
                request.wfile.write(chunk)
                self.sent[path] += len(chunk)
            return
        coding, body = {
            "/gzipped": ("gzip", gzip.compress(VIDEO)),
            "/bomb": ("gzip", self.bomb),
            "/brotli": ("br", b"not really brotli"),
        }[path]
        request.send_response(200)
        request.send_header("Content-Type", "video/mp4")
        request.send_header("Content-Encoding", coding)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def storage() -> Iterator[Storage]:
    server = Storage()
    yield server
    server.close()


def fetch(storage: Storage, path: str, folder: Path, expected_size: int | None = None) -> dict[str, Any]:
    """Download ``storage.url + path`` as job ``job-1``'s video, the way DownloadVideoOperator does."""
    hook = hook_class("tensorpix")(conn_id="tensorpix_default")
    operator = DownloadVideoOperator(task_id="download", job="job-1", destination=f"{folder}/")
    source = AssetSource(url=storage.url + path, send_key=False, expected_size=expected_size)
    result: dict[str, Any] = operator._fetch(hook, source, "job-1", "video", None)
    return result


def test_identity_is_asked_for(sim: SimulatorHandle, storage: Storage, tmp_path: Path) -> None:
    fetch(storage, "/gzipped", tmp_path)
    assert storage.asked[-1]["accept-encoding"] == "identity"
    assert "authorization" not in storage.asked[-1]


@pytest.mark.parametrize("stated", [None, len(VIDEO)], ids=["size unknown", "size stated"])
def test_a_file_encoded_anyway_is_decoded_and_checked_against_its_real_size(
    sim: SimulatorHandle, storage: Storage, tmp_path: Path, stated: int | None
) -> None:
    """Its Content-Length counts the encoded bytes, so it is not the file's size (that was a false
    "got N bytes, expected M" before)."""
    result = fetch(storage, "/gzipped", tmp_path, expected_size=stated)
    path = Path(result["path"])
    assert result["bytes"] == len(VIDEO) == path.stat().st_size
    assert result["sha256"] == hashlib.sha256(VIDEO).hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_encoded_file_larger_than_the_api_states_is_refused(
    sim: SimulatorHandle, storage: Storage, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match=f"more than the {MIB} bytes the API states"):
        fetch(storage, "/gzipped", tmp_path, expected_size=MIB)
    assert os.listdir(tmp_path) == []


def test_a_compression_bomb_is_refused_while_it_decodes(sim: SimulatorHandle, storage: Storage, tmp_path: Path) -> None:
    assert len(storage.bomb) < MIB  # ~160 MiB of zeros in a few hundred KB
    with pytest.raises(DownloadError, match="decodes to more than 100x its size") as caught:
        fetch(storage, "/bomb", tmp_path)
    assert "compression bomb" in (caught.value.hint or "")
    assert os.listdir(tmp_path) == []  # the partial file is gone


def test_an_encoding_that_cannot_be_bounded_is_refused_clearly(
    sim: SimulatorHandle, storage: Storage, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match="Content-Encoding 'br', which is not decoded here"):
        fetch(storage, "/brotli", tmp_path)
    assert os.listdir(tmp_path) == []


def test_a_refusal_is_read_only_as_far_as_its_message(sim: SimulatorHandle, storage: Storage, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(DownloadError, match="expired or was refused") as caught:
        fetch(storage, "/refused-forever", tmp_path)
    assert caught.value.vendor_message == "Request has expired"
    assert caught.value.http_status == 403
    assert time.monotonic() - started < 10
    time.sleep(0.2)  # the server notices the closed connection
    assert storage.sent["/refused-forever"] < 200 * MIB  # it could not send it all: nobody read it
    assert ERROR_BODY_BYTES < MIB
