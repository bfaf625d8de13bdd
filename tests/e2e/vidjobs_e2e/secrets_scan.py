"""Look for the run's canary API keys where Airflow keeps things in clear: logs and metadata DB rows.

Trigger kwargs, ``next_kwargs``, XCom and event payloads are stored as plain JSON (Fernet does not
cover them), and rendered template fields are stored as rendered. A key that reaches any of them is
readable by anyone with DB or log access. Connection passwords themselves are Fernet-encrypted, so a
whole-database dump must not show a canary either.
"""

from __future__ import annotations

import base64
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .postgres import PostgresServer

#: Metadata tables and the column that holds free-form data, as named in the issue.
DB_TARGETS = {
    "trigger": "kwargs",
    "task_instance": "next_kwargs",
    "xcom": "value",
    "rendered_task_instance_fields": "rendered_fields",
}


def needles(canaries: list[str]) -> list[str]:
    """The keys themselves and their base64 forms (as in a Basic header or an encoded blob)."""
    out = list(canaries)
    for key in canaries:
        out.append(base64.b64encode(key.encode()).decode().rstrip("="))
    return out


@dataclass
class ScanReport:
    """Where canaries were found (``hits``) and how much was looked at."""

    hits: list[str] = field(default_factory=list)
    files_scanned: int = 0
    bytes_scanned: int = 0
    rows_scanned: dict[str, int] = field(default_factory=dict)

    def merge(self, other: ScanReport) -> None:
        self.hits += other.hits
        self.files_scanned += other.files_scanned
        self.bytes_scanned += other.bytes_scanned
        for k, v in other.rows_scanned.items():
            self.rows_scanned[k] = self.rows_scanned.get(k, 0) + v


def scan_files(paths: list[Path], canaries: list[str]) -> ScanReport:
    report = ScanReport()
    wanted = [n.encode() for n in needles(canaries)]
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        report.files_scanned += 1
        report.bytes_scanned += len(data)
        for needle in wanted:
            if needle in data:
                line = data[: data.index(needle)].count(b"\n") + 1
                report.hits.append(f"{path}:{line}: contains a canary key")
    return report


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scan_db(pg: PostgresServer, canaries: list[str], label: str) -> ScanReport:
    """Count rows of each target column containing a canary, at this moment."""
    report = ScanReport()
    patterns = ", ".join(_sql_literal(f"%{n}%") for n in needles(canaries))
    for table, column in DB_TARGETS.items():
        out = pg.psql(
            "airflow",
            f"SELECT count(*), count(*) FILTER (WHERE {column}::text LIKE ANY (ARRAY[{patterns}])) "
            f"FROM {table} WHERE {column} IS NOT NULL",
        ).strip()
        total, _, hits = out.partition("|")
        report.rows_scanned[f"{table}.{column}"] = int(total)
        if int(hits):
            report.hits.append(f"{label}: {hits} row(s) of {table}.{column} contain a canary key")
    return report


def scan_db_dump(pg: PostgresServer, canaries: list[str], label: str) -> ScanReport:
    """``pg_dump --data-only`` of the whole metadata DB, searched for the canaries."""
    dump = subprocess.run(
        [
            str(pg.bindir / "pg_dump"),
            "-h",
            "127.0.0.1",
            "-p",
            str(pg.port),
            "-U",
            "airflow",
            "--data-only",
            "airflow",
        ],
        capture_output=True,
        check=True,
    ).stdout
    report = ScanReport(bytes_scanned=len(dump))
    for needle in needles(canaries):
        if needle.encode() in dump:
            at = dump.index(needle.encode())
            start = dump.rfind(b"\nCOPY ", 0, at)
            table = dump[start + 6 : dump.find(b" ", start + 6)].decode(errors="replace") if start >= 0 else "?"
            report.hits.append(f"{label}: whole-DB dump contains a canary key (table {table})")
    return report


#: A pre-signed storage URL's signature as the simulator writes it (``...&signature=<hex>``).
_SIGNATURE = re.compile(r"[?&]signature=([0-9A-Za-z_-]{16,})")


def signatures_in_xcoms(pg: PostgresServer) -> list[str]:
    """The signatures of the pre-signed URLs the runs' XComs hold (where they belong, whole)."""
    out = pg.psql("airflow", "SELECT value::text FROM xcom WHERE value::text LIKE '%signature=%'")
    return sorted(set(_SIGNATURE.findall(out)))


def scan_files_for_signatures(paths: list[Path], signatures: list[str]) -> ScanReport:
    """Log files must show a pre-signed URL's signature masked (``signature=***``), never the value."""
    report = ScanReport()
    wanted = [signature.encode() for signature in signatures]
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        report.files_scanned += 1
        report.bytes_scanned += len(data)
        for needle in wanted:
            if needle in data:
                line = data[: data.index(needle)].count(b"\n") + 1
                report.hits.append(f"{path}:{line}: contains a pre-signed URL's signature")
    return report
