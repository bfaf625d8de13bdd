"""Run every benchmark of issue #6 and print one table: figure, target, measured, pass/fail.

    python benchmarks/run_all.py                  # everything, full size (about 30 minutes)
    python benchmarks/run_all.py --smoke          # small and short (under 2 minutes): keeps it working
    python benchmarks/run_all.py --check          # exit 1 if a target is missed
    python benchmarks/run_all.py --only waits,api_calls --json results.json

Benchmarks (each its own script, runnable alone):

- ``waits``: target 1, 10,000 ``VideoJobTrigger``s in one triggerer loop (``waits.py``);
- ``side_by_side``: target 2, the same workload at N=3,000 through our trigger and through
  ``HttpSensorTrigger`` (which opens a connection per poll and cannot poll 10,000 jobs on one core);
- ``api_calls``: target 3, adaptive policy against a fixed 5 s interval (``api_calls.py``);
- ``download``: target 4, 1 GiB through ``DownloadVideoOperator`` against ``curl | tee | sha256sum`` (``download.py``);
- ``import``: target 5, import time and a guarded DAG parse (``import_time.py``);
- ``styles``: the client designs compared for the choice (``client_styles.py``), informational.

Smoke mode shrinks every size and timeline; its figures only show the benchmarks still run (targets
are for the full sizes), so CI runs it without ``--check``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Row

ALL = ("waits", "side_by_side", "api_calls", "download", "import", "styles")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g} ms"


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def waits_rows(result: dict[str, Any], label: str = "1") -> list[Row]:
    n = result["n"]
    ok = result["correct"] == n and not result["runner_failures"]
    busy = f"others used {result['others_cores']:.2f} cores"
    return [
        Row(f"{label}. waits that ended correctly", f"{n}/{n}", f"{result['correct']}/{n}", ok),
        Row(f"{label}. detection lag p95", "<= 11 s", _s(result["lag_p95_s"]), result["lag_p95_s"] <= 11),
        Row(
            f"{label}. CPU per poll (whole run)",
            "<= 0.35 ms",
            _ms(result["cpu_per_poll_ms"]),
            result["cpu_per_poll_ms"] <= 0.35,
            f"{result['polls']} polls, {result['polls_per_job']:.1f}/job; steady state "
            f"{_ms(result.get('steady_cpu_per_poll_ms'))}",
        ),
        Row(
            f"{label}. event-loop lag p99",
            "<= 50 ms",
            _ms(result["loop_lag_p99_ms"]),
            result["loop_lag_p99_ms"] <= 50,
            f"max {_ms(result['loop_lag_max_ms'])}; {result['gc_full_collections']} full GCs, longest "
            f"{_ms(result['gc_full_max_ms'])}; {busy}",
        ),
        Row(
            f"{label}. peak RSS growth",
            "<= 250 MB",
            f"{result['rss_growth_mb']:.0f} MB",
            result["rss_growth_mb"] <= 250,
        ),
        Row(
            f"{label}. TCP connections opened",
            "<= 200",
            str(result["tcp_connections"]),
            result["tcp_connections"] <= 200,
        ),
    ]


def side_by_side_rows(ours: dict[str, Any], peer: dict[str, Any]) -> list[Row]:
    ratio = ours["cpu_per_poll_ms"] / peer["cpu_per_poll_ms"]
    return [
        Row(
            "2. CPU per poll, ours / HttpSensorTrigger",
            "<= 0.25",
            f"{ours['cpu_per_poll_ms']:.3f} / {peer['cpu_per_poll_ms']:.3f} ms = {ratio:.2f}",
            ratio <= 0.25,
            f"N={ours['n']} each; calls/job {ours['polls_per_job']:.1f} vs {peer['polls_per_job']:.1f}",
        ),
        Row(
            "2. detection lag p95, ours vs HttpSensorTrigger",
            "ours <= peer",
            f"{ours['lag_p95_s']:.2f} s vs {peer['lag_p95_s']:.2f} s",
            ours["lag_p95_s"] <= peer["lag_p95_s"],
            f"p50 {ours['lag_p50_s']:.2f} vs {peer['lag_p50_s']:.2f} s; all correct: "
            f"{ours['correct']}/{ours['n']} and {peer['correct']}/{peer['n']}",
        ),
        Row(
            "2. TCP connections, ours vs HttpSensorTrigger",
            "",
            f"{ours['tcp_connections']} vs {peer['tcp_connections']}",
            None,
            f"loop lag p99 {_ms(ours['loop_lag_p99_ms'])} vs {_ms(peer['loop_lag_p99_ms'])}",
        ),
    ]


def api_calls_rows(result: dict[str, Any]) -> list[Row]:
    ours, fixed = result["adaptive"], result["fixed"]
    return [
        Row(
            "3. API calls per job, adaptive / fixed 5 s",
            "<= 0.33",
            f"{ours['calls_per_job']:.2f} / {fixed['calls_per_job']:.2f} = {result['call_ratio']:.2f}",
            result["call_ratio"] <= 1 / 3 and not ours["wrong"] and not fixed["wrong"],
            f"{result['jobs']} jobs x 2, time x{result['time_scale']:g}",
        ),
        Row(
            "3. detection lag p95, adaptive",
            "<= 5 s",
            _s(ours["lag_p95_s"]),
            ours["lag_p95_s"] <= 5,
            f"p50 {_s(ours['lag_p50_s'])}; fixed 5 s: p50 {_s(fixed['lag_p50_s'])}, p95 {_s(fixed['lag_p95_s'])}",
        ),
    ]


def download_rows(result: dict[str, Any]) -> list[Row]:
    return [
        Row(
            "4. download peak RSS growth",
            "<= 64 MB",
            f"{result['rss_growth_mb']:.1f} MB",
            result["rss_growth_mb"] <= 64 and result["sha_ok"],
            f"{result['size_mib']} MiB file, sha256 {'ok' if result['sha_ok'] else 'WRONG'}",
        ),
        Row(
            "4. download throughput vs curl+tee+sha256sum",
            ">= 70%",
            f"{result['ours_mb_s']:.0f} / {result['pipeline_mb_s']:.0f} MB/s = {100 * result['ratio']:.0f}%",
            result["ratio"] >= 0.7 and result["pipeline_sha_ok"],
            f"best of {result['rounds']}: ours {result['all_ours_mb_s']}, pipeline {result['all_pipeline_mb_s']}; "
            f"for scale: curl -o /dev/null {result['curl_mb_s']:.0f} MB/s, "
            f"sha256 alone {result['sha256_mb_s']:.0f} MB/s",
        ),
    ]


def import_rows(result: dict[str, Any]) -> list[Row]:
    heavy = ", ".join(f"{name} {ms:.0f}" for name, ms in result["heaviest_ms"][:4])
    return [
        Row(
            "5. import time added to DAG parsing",
            "<= 150 ms",
            _ms(result["import_ms_median"]),
            result["import_ms_median"] <= 150,
            f"median of {len(result['import_ms_all'])}; heaviest (ms): {heavy}",
        ),
        Row(
            "5. network / connection lookups while parsing",
            "0",
            str(len(result["parse_calls"])),
            not result["parse_calls"] and not result["parse_error"] and result["parse_tasks"] > 0,
            result["parse_error"] or f"{result['parse_tasks']} tasks parsed",
        ),
    ]


def styles_rows(result: dict[str, Any]) -> list[Row]:
    rows = []
    for r in result["rows"]:
        if "error" in r:
            rows.append(Row(f"options: {r['style']} N={r['n']}", "", "failed", None, r["error"][-120:]))
            continue
        rows.append(
            Row(
                f"options: {r['style']} N={r['n']}",
                "",
                f"{r['cpu_ms_per_poll']:.3g} ms/poll",
                None,
                f"latency p95 {r['latency_p95_ms']:.3g} ms, {r['polls'] / max(1, r['intended']):.0%} of polls, "
                f"{r['tcp_connections']} conns",
            )
        )
    return rows


def run(selected: list[str], smoke: bool) -> tuple[list[Row], dict[str, Any]]:
    import api_calls
    import client_styles
    import download
    import import_time
    import waits

    rows: list[Row] = []
    raw: dict[str, Any] = {}
    # Smoke timelines: short jobs, so CI's run stays quick (its figures are not asserted anywhere).
    short = {"min_duration": 3.0, "max_duration": 6.0, "max_queue": 1.0, "poll_s": 1.0, "arrival_s": 1.0}

    def step(name: str, fn: Callable[[], list[Row]]) -> None:
        started = time.time()
        print(f"[run_all] {name}...", file=sys.stderr, flush=True)
        try:
            rows.extend(fn())
        except Exception as error:
            rows.append(Row(f"{name}: did not run", "", f"{type(error).__name__}", False, str(error)[-200:]))
        print(f"[run_all] {name} done in {time.time() - started:.0f} s", file=sys.stderr, flush=True)

    if "waits" in selected:

        def do_waits() -> list[Row]:
            cfg = waits.WaitsConfig(n=200, **short) if smoke else waits.WaitsConfig(n=10_000)
            raw["waits"] = waits.run(cfg)
            return waits_rows(raw["waits"])

        step("waits", do_waits)
    if "side_by_side" in selected:

        def do_side() -> list[Row]:
            n = 100 if smoke else 3000
            base = dict(short) if smoke else {}
            ours = waits.run(waits.WaitsConfig(n=n, apis=("tensorpix",), fail_fraction=0.0, **base))
            peer = waits.run(waits.WaitsConfig(n=n, driver="http_sensor", **base))
            raw["side_by_side"] = {"ours": ours, "peer": peer}
            return side_by_side_rows(ours, peer)

        step("side_by_side", do_side)
    if "api_calls" in selected:

        def do_calls() -> list[Row]:
            raw["api_calls"] = api_calls.run(60, 30.0, 1.0, seed=3) if smoke else api_calls.run(1000, 5.0, 10.0, seed=3)
            return api_calls_rows(raw["api_calls"])

        step("api_calls", do_calls)
    if "download" in selected:

        def do_download() -> list[Row]:
            raw["download"] = download.run(64, 1) if smoke else download.run(1024, 3)
            return download_rows(raw["download"])

        step("download", do_download)
    if "import" in selected:

        def do_import() -> list[Row]:
            raw["import"] = import_time.run(2 if smoke else 7)
            return import_rows(raw["import"])

        step("import", do_import)
    if "styles" in selected and not smoke:

        def do_styles() -> list[Row]:
            rows_ = client_styles.run(list(client_styles.STYLES), [1000, 3000], 1.5, 15.0, 5.0)
            raw["styles"] = {"rows": rows_}
            return styles_rows(raw["styles"])

        step("styles", do_styles)
    return rows, raw


def table(rows: list[Row], markdown: bool) -> str:
    header = ("figure", "target", "measured", "result", "notes")
    body = [
        (r.figure, r.target, r.measured, "-" if r.passed is None else ("PASS" if r.passed else "FAIL"), r.detail)
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(4)]
    lines = []
    for row in [header, *body]:
        lines.append("  ".join(str(row[i]).ljust(widths[i]) for i in range(4)) + "  " + row[4])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes and short timelines (CI)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(ALL)}")
    parser.add_argument("--skip", help="comma-separated benchmarks to leave out")
    parser.add_argument("--json", help="also write every raw figure to this file")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    selected = [name for name in (args.only.split(",") if args.only else ALL) if name in ALL]
    if args.skip:
        selected = [name for name in selected if name not in args.skip.split(",")]
    started = time.time()
    rows, raw = run(selected, args.smoke)
    print()
    print(
        f"airflow-provider-vidjobs benchmarks ({'smoke' if args.smoke else 'full'}) on {platform.node()}, "
        f"{os.cpu_count()} cores, {time.time() - started:.0f} s"
    )
    print(table(rows, args.markdown))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": [r.to_dict() for r in rows], "raw": raw, "smoke": args.smoke}, f, indent=1)
    failed = [r for r in rows if r.passed is False]
    if args.check and failed:
        print(f"\n{len(failed)} target(s) missed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
