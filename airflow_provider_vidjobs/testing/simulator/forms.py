"""Request-body parsing for create calls: JSON, ``multipart/form-data`` (what the openai SDK sends)
and url-encoded forms.

Form fields in bracket notation (``sim[queued_s]``, ``input_reference[image_url]``), which is how the
openai SDK flattens ``extra_body`` objects, become nested dicts. Files become ``UploadedFile``.
A field whose value is a JSON object (``sim={"queued_s": 1}``) is decoded too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.parser
import email.policy
import json
import re
from typing import Any
from urllib.parse import parse_qsl


class BodyError(ValueError):
    """The body cannot be parsed."""


@dataclasses.dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart body (only its metadata is kept by jobs)."""

    filename: str
    content_type: str
    size: int


_BRACKETS = re.compile(r"\[([^\]]*)\]")


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    """Parse a create body into a dict; raises ``BodyError`` when it is not an object."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "multipart/form-data":
        return _nest(_multipart(body, content_type))
    if ctype == "application/x-www-form-urlencoded":
        return _nest(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BodyError("the JSON body must be an object")
    return data


def _multipart(body: bytes, content_type: str) -> list[tuple[str, Any]]:
    """Fields of a multipart body, in order."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise BodyError("malformed multipart body")
    fields: list[tuple[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            fields.append((name, UploadedFile(filename, part.get_content_type(), len(data))))
        else:
            fields.append((name, data.decode("utf-8")))
    return fields


def _nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Turn ``a[b][c]=v`` pairs into nested dicts and decode JSON-object values."""
    out: dict[str, Any] = {}
    for name, value in pairs:
        root, _, rest = name.partition("[")
        keys = [root, *_BRACKETS.findall("[" + rest)] if rest else [root]
        if isinstance(value, str) and value.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        node = out
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[keys[-1]] = value
    return out
