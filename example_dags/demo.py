"""Run every example DAG against the bundled API simulator: one command, nothing but Python 3.11 and pip.

    python3 example_dags/demo.py              # from anywhere; --reinstall forces a fresh pip install
    python3 example_dags/demo.py --keep       # keep the throwaway Airflow home (its SQLite DB) afterwards

1. Creates ``.venv-demo/`` at the repository root and installs this package into it
   (``pip install -e '.[simulator]'``; a few minutes the first time, skipped while ``pyproject.toml``
   is unchanged), then re-runs itself with that interpreter.
2. Makes a throwaway Airflow home (SQLite) in a temp folder and runs ``airflow db migrate``. Any
   ``AIRFLOW_*`` settings of your shell are ignored, so your own Airflow is never touched. The home is
   removed at the end unless ``--keep`` is given.
3. Starts the simulator of the TensorPix, AIHubMix and Replicate APIs and points ``tensorpix_default``,
   ``aihubmix_default`` and ``replicate_default`` at it through ``AIRFLOW_CONN_*`` variables.
4. Runs each example DAG with ``airflow dags test`` (with short simulated jobs), one log file per run.
5. Reads each run's XComs back from the metadata DB and prints the normalized job metadata and
   where the videos landed; exits non-zero if any run failed.

``demo-output/`` holds the latest run only (all of it is emptied first): ``videos/<dag_id>/<prompt>-<id>.mp4``,
``metadata.json`` (every XCom, and which file is which job) and ``logs/`` (one Airflow log per step).

Airflow never parses this file: it is listed in ``example_dags/.airflowignore``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "example_dags"
VENV = REPO / ".venv-demo"
STAMP = VENV / "vidjobs-demo-installed.json"
OUTPUT = REPO / "demo-output"
MIN_PYTHON = (3, 11)
#: Modules the demo needs from the virtualenv: if one is missing, the install is redone.
NEEDED = ("airflow", "airflow_provider_vidjobs", "uvicorn", "starlette")
DAG_TIMEOUT_S = 600


# ----- step 1: the virtualenv ---------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def in_demo_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def install_fingerprint() -> dict[str, str]:
    """What the install depends on: the package's metadata (dependencies) and where the repo is."""
    return {
        "pyproject_sha256": hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest(),
        "repo": str(REPO),
    }


def venv_version() -> tuple[int, ...]:
    """The Python version ``.venv-demo`` was made with (from its ``pyvenv.cfg``), or () if unknown."""
    try:
        for line in (VENV / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("version", "version_info"):
                return tuple(int(part) for part in value.strip().split(".")[:2])
    except (OSError, ValueError):
        pass
    return ()


def venv_is_current() -> bool:
    if not STAMP.is_file() or not venv_python().exists():
        return False
    try:
        recorded = json.loads(STAMP.read_text())
    except ValueError:
        return False
    if recorded != install_fingerprint():
        return False
    check = f"import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in {NEEDED!r}))"
    return subprocess.run([str(venv_python()), "-c", check], check=False).returncode == 0


def bootstrap(reinstall: bool) -> int:
    """Make sure ``.venv-demo`` has the package installed, then re-run this script inside it."""
    if sys.version_info < MIN_PYTHON:
        print(f"The demo needs Python {'.'.join(map(str, MIN_PYTHON))}+ (this is {sys.version.split()[0]}).")
        return 2
    if reinstall or not venv_is_current():
        started = time.monotonic()
        if not venv_python().exists() or venv_version() < MIN_PYTHON:
            print(f"Creating a virtualenv in {VENV.relative_to(REPO)}/ with Python {sys.version.split()[0]} ...")
            made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=False)
            if made.returncode != 0:
                print("Could not create the virtualenv. On Debian/Ubuntu: sudo apt install python3.11-venv")
                return 2
        STAMP.unlink(missing_ok=True)
        log = VENV / "pip-install.log"
        print(f"Installing airflow-provider-vidjobs[simulator] and Apache Airflow into {VENV.name}/")
        print(f"  (the first time takes a few minutes; pip's output goes to {log})")
        steps = [
            ["-m", "pip", "install", "--disable-pip-version-check", "--upgrade", "pip"],
            ["-m", "pip", "install", "--disable-pip-version-check", "-e", f"{REPO}[simulator]"],
        ]
        with log.open("w") as sink:
            for step in steps:
                if run_with_progress([str(venv_python()), *step], sink, log) != 0:
                    print(f"pip failed; the end of {log}:")
                    print("".join(log.read_text(errors="replace").splitlines(keepends=True)[-25:]))
                    return 1
        STAMP.write_text(json.dumps(install_fingerprint(), indent=2))
        print(f"  installed in {time.monotonic() - started:.0f} s")
    python = str(venv_python())
    sys.stdout.flush()
    if os.name == "nt":  # no exec on Windows: run and pass the exit code on
        return subprocess.run([python, str(Path(__file__).resolve()), *sys.argv[1:]], check=False).returncode
    os.execv(python, [python, str(Path(__file__).resolve()), *[a for a in sys.argv[1:] if a != "--reinstall"]])
    return 0  # not reached


def run_with_progress(command: list[str], sink: Any, log: Path) -> int:
    """Run pip with its output in ``log``, showing what it is doing on one updating line."""
    proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO)
    started = time.monotonic()
    interactive = sys.stdout.isatty()
    last_print = 0.0
    while proc.poll() is None:
        time.sleep(0.5)
        elapsed = time.monotonic() - started
        status = _last_pip_action(log)
        if interactive:
            print(f"\r  {elapsed:4.0f} s  {status[:70]:<70}", end="", flush=True)
        elif elapsed - last_print >= 30:
            print(f"  {elapsed:4.0f} s  {status[:100]}", flush=True)
            last_print = elapsed
    if interactive:
        print("\r" + " " * 80 + "\r", end="")
    return proc.returncode


def _last_pip_action(log: Path) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 4096))
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith(("Collecting", "Downloading", "Installing", "Building", "Obtaining", "Preparing")):
            return line.strip()
    return ""


# ----- steps 2-5: Airflow, the simulator, the DAG runs ---------------------------------------------


class Demo:
    """One demo run: a temp Airflow home, the simulator, and the results of each DAG in ``output``."""

    def __init__(self, output: Path = OUTPUT, *, keep: bool = False) -> None:
        self.output = output
        self.videos = output / "videos"
        self.logs = output / "logs"
        self.keep = keep
        self.work = Path(tempfile.mkdtemp(prefix="vidjobs-demo-"))
        self.home = self.work / "airflow_home"
        self.sim: Any = None
        self.failed: list[str] = []
        self.files: list[dict[str, Any]] = []
        self.metadata: dict[str, Any] = {}

    # -- environment ----------------------------------------------------------------------------

    def configure_environment(self) -> None:
        """Only the demo's Airflow settings: the shell's AIRFLOW_* (DB, connections...) are dropped."""
        for name in list(os.environ):
            if name.startswith("AIRFLOW"):
                del os.environ[name]
        os.environ.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # `airflow dags test` writes each task's log to its own output (logs/<dag>.log); the task
                # log folder stays empty, so it lives in the throwaway home, not in demo-output/.
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                # Simulated jobs take seconds; against a real API the DAGs poll every 15 s by default.
                "VIDJOBS_EXAMPLE_POLL_SECONDS": "1",
            }
        )

    def airflow(self, name: str, *args: str) -> tuple[bool, float, Path]:
        """``airflow <args>`` with its output in ``logs/<name>.log``: (succeeded, seconds, log path)."""
        log = self.logs / f"{name}.log"
        started = time.monotonic()
        with log.open("w") as sink:
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "airflow", *args],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=DAG_TIMEOUT_S,
                    check=False,
                )
                ok = done.returncode == 0
            except subprocess.TimeoutExpired:
                sink.write(f"\n[demo] stopped after {DAG_TIMEOUT_S} s\n")
                ok = False
        return ok, time.monotonic() - started, log

    # -- the run --------------------------------------------------------------------------------

    def prepare_output(self) -> None:
        """Empty the output folder: what it holds afterwards is this run's, and all of it is listed."""
        if self.output.is_dir():
            for target in self.output.iterdir():
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
        self.logs.mkdir(parents=True)
        self.videos.mkdir(parents=True)

    def cleanup(self) -> None:
        """Remove the throwaway Airflow home, unless ``--keep`` asked for it."""
        if self.keep:
            print(f"Airflow home kept (--keep): {self.home}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def run(self) -> int:
        started = time.monotonic()
        self.prepare_output()
        self.configure_environment()
        print("vidjobs demo: the example DAGs against the simulated TensorPix, AIHubMix and Replicate APIs")
        print(f"  output {self.output} (this run only); Airflow home {self.home} (removed afterwards)")

        ok, took, log = self.airflow("db-migrate", "db", "migrate")
        if not ok:
            return self.give_up("airflow db migrate", log)
        print(f"[1/7] airflow db migrate {'.' * 22} ok, {took:.0f} s (SQLite, in the work dir)")

        from airflow_provider_vidjobs.testing.simulator import start_simulator

        self.sim = start_simulator()
        os.environ.update(self.sim.airflow_connections())
        print(
            f"[2/7] simulator listening on {self.sim.url}; "
            "tensorpix_default, aihubmix_default and replicate_default point at it"
        )

        self.tensorpix_wait_for_video(step=3)
        self.aihubmix_generate_and_download(step=4)
        self.fan_out_prompts(step=5)
        self.replicate_wait_and_download(step=6)
        self.hitl_pick_a_variant(step=7)
        dags = range(3, 8)  # the five runs above (steps 3-7)

        self.metadata["files"] = [
            {key: item.get(key) for key in ("path", "dag_id", "job_id", "prompt", "bytes", "sha256")}
            for item in self.files
        ]
        (self.output / "metadata.json").write_text(json.dumps(self.metadata, indent=2))
        print(f"\nVideos ({self.videos}):")
        for item in self.files:
            print(f"  {item['path']}  {item['bytes']:,} bytes  sha256 {item['sha256'][:16]}…")
        if not self.files:
            print("  none")
        print(f"Every XCom of every run: {self.output / 'metadata.json'}; logs: {self.logs}")
        total = time.monotonic() - started
        if self.failed:
            print(f"\n{len(self.failed)} of {len(dags)} DAG runs FAILED ({', '.join(self.failed)}) in {total:.0f} s.")
            return 1
        print(f"\nAll {len(dags)} example DAGs succeeded in {total:.0f} s.")
        print(REAL_APIS)
        return 0

    def give_up(self, what: str, log: Path) -> int:
        print(f"{what} failed: {last_error(log)}\n  full output: {log}")
        return 1

    def dag_test(self, step: int, dag_id: str, conf: dict[str, Any]) -> Any:
        """``airflow dags test`` one DAG; prints its outcome and returns its run as read from the DB."""
        print(f"[{step}/7] {dag_id} {'.' * (38 - len(dag_id))} ", end="", flush=True)
        ok, took, log = self.airflow(dag_id, "dags", "test", dag_id, "-c", json.dumps(conf))
        run = read_run(dag_id)
        state = run["state"] if run else "no run"
        print(f"{state}, {took:.0f} s")
        if run is not None:
            self.metadata[dag_id] = {
                "run_id": run["run_id"],
                "state": state,
                "conf": conf,
                "xcoms": {f"{task_label(t, i)} {key}": value for (t, i, key), value in run["xcoms"].items()},
            }
        if not ok or state != "success":
            self.failed.append(dag_id)
            states = run["states"] if run else {}
            failed = sorted(task_label(t, i) for (t, i), s in states.items() if s == "failed")
            print(f"      failed tasks: {', '.join(failed) or '-'}: {last_error(log)}\n      full output: {log}")
            return None
        return run

    # -- the example DAGs ----------------------------------------------------------------------------

    def tensorpix_wait_for_video(self, step: int) -> None:
        # TensorPix jobs are started outside Airflow; here the simulator's control API starts one. It
        # keeps running until the DAG's sensor has looked at it once, then finishes 3 s later: so the
        # sensor finds it running and defers, however long Airflow takes to start.
        control = self.sim.control
        job = control.create_job(
            "tensorpix",
            prompt="Upscale and colour-grade a drone shot of a coastline",
            sim={"queued_s": 0, "running_s": 3600},
        )
        releaser = finish_after_first_check(control, job["id"], in_s=3)
        run = self.dag_test(step, "tensorpix_wait_for_video", {"job_id": job["id"]})
        releaser.set()
        if run is None:
            return
        final = run["xcoms"][("wait_for_video", -1, "return_value")]
        print_job(final)
        print(f"      waited     {waits(control, job['id'])}")
        print("      normalized metadata (the sensor's XCom, what downstream tasks read):")
        shown = json.dumps(hide_signatures(final), indent=2)
        print("\n".join("        " + line for line in shown.splitlines()))

    def aihubmix_generate_and_download(self, step: int) -> None:
        dag_id = "aihubmix_generate_and_download"
        conf = {
            "prompt": "A paper boat drifting down a rainy city street at dusk, cinematic",
            "output_dir": str(self.videos / dag_id) + "/",
            "extra_params": {"sim": {"queued_s": 1, "running_s": 4}},
        }
        run = self.dag_test(step, dag_id, conf)
        if run is None:
            return
        final = run["xcoms"][("wait_for_video", -1, "return_value")]
        download = readable_name(run["xcoms"][("download_video", -1, "return_value")], final, dag_id)
        print_job(final)
        print(f"      waited     {waits(self.sim.control, final['job_id'])}")
        print_file(download)
        self.files.append(download)

    def replicate_wait_and_download(self, step: int) -> None:
        # Replicate predictions are started outside Airflow (its API, client or web app); here the
        # simulator's control API starts one, which runs until the sensor has seen it once.
        dag_id, control = "replicate_wait_and_download", self.sim.control
        job = control.create_job(
            "replicate",
            prompt="A hummingbird hovering over a red flower, slow motion",
            sim={"queued_s": 0, "running_s": 3600},
        )
        releaser = finish_after_first_check(control, job["id"], in_s=3)
        conf = {"prediction_id": job["id"], "output_dir": str(self.videos / dag_id) + "/"}
        run = self.dag_test(step, dag_id, conf)
        releaser.set()
        if run is None:
            return
        final = run["xcoms"][("wait_for_prediction", -1, "return_value")]
        download = readable_name(run["xcoms"][("download_video", -1, "return_value")], final, dag_id)
        print_job(final)
        print(f"      waited     {waits(control, job['id'])}")
        print(f"      page       {final.get('web_url') or '-'} (the task's Video job link)")
        print_file(download)
        self.files.append(download)

    def fan_out_prompts(self, step: int) -> None:
        dag_id = "fan_out_prompts"
        conf = {
            "output_dir": str(self.videos / dag_id) + "/",
            "extra_params": {"sim": {"queued_s": 0.5, "running_s": 3}},
        }
        run = self.dag_test(step, dag_id, conf)
        if run is None:
            return
        report = run["xcoms"][("cost_report", -1, "return_value")]
        print(f"      {'#':>2}  {'status':<9}  {'clip':>5}  {'took':>5}  {'cost':>4}  {'bytes':>7}  prompt")
        for number, row in enumerate(report["videos"], 1):
            prompt = row["prompt"] if len(row["prompt"]) <= 44 else row["prompt"][:43] + "…"
            print(
                f"      {number:>2}  {row['status']:<9}  {_num(row['video_seconds'], 's'):>5}  "
                f"{_num(row['generation_seconds'], 's'):>5}  {row['cost'] or '-':>4}  {row['bytes']:>7,}  {prompt}"
            )
        cost = report["total_cost"] if report["costs_reported"] else "not reported by the API"
        print(
            f"      total      {report['count']} videos, {_num(report['total_video_seconds'], 's')} of video, "
            f"{report['total_bytes']:,} bytes, cost: {cost}"
        )
        jobs = {
            job["job_id"]: job
            for key, job in run["xcoms"].items()
            if key[0] == "wait_for_video" and key[2] == "return_value" and isinstance(job, dict)
        }
        self.files.extend(
            readable_name(run["xcoms"][key], jobs.get(run["xcoms"][key]["job_id"], {}), dag_id)
            for key in sorted(run["xcoms"])
            if key[0] == "download_video" and key[2] == "return_value"
        )

    def hitl_pick_a_variant(self, step: int) -> None:
        """Three variants; a scripted person picks Variant 2 (``airflow dags test`` has no one to ask)."""
        from airflow_provider_vidjobs.testing.hitl import answer_when_asked

        dag_id = "hitl_pick_a_variant"
        conf = {
            "prompt": "A lighthouse in rolling fog at dawn",
            "output_dir": str(self.videos / dag_id) + "/",
            "extra_params": {"sim": {"queued_s": 0.5, "running_s": 3}},
        }
        with answer_when_asked(dag_id, "choose_variant", ["Variant 2"], user="demo", timeout=DAG_TIMEOUT_S):
            run = self.dag_test(step, dag_id, conf)
        if run is None:
            return
        answer = run["xcoms"].get(("choose_variant", -1, "return_value")) or {}
        job = run["xcoms"].get(("chosen_job", -1, "return_value")) or {}
        print(f"      asked      which of 3 variants to download; answered {answer.get('chosen_options')} (scripted)")
        download = run["xcoms"].get(("download_chosen", -1, "return_value"))
        if download:
            print_job(job)
            download = readable_name(download, job, dag_id)
            print_file(download)
            self.files.append(download)


def slug(text: str | None, limit: int = 40) -> str:
    """``"A paper boat, drifting!"`` -> ``"a-paper-boat-drifting"``: a file-name-safe hint of the prompt."""
    words = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return words[:limit].rstrip("-") or "video"


def readable_name(download: dict[str, Any], job: dict[str, Any], dag_id: str) -> dict[str, Any]:
    """Rename a downloaded file (named by job id alone) to ``<prompt slug>-<id>``; returns the download's
    facts with the new path, plus the DAG, job and prompt it belongs to (for ``metadata.json``)."""
    path = Path(download["path"])
    job_id = str(download.get("job_id") or job.get("job_id") or "")
    short_id = re.sub(r"[^A-Za-z0-9]+", "", job_id)[:12] or "job"
    target = path.with_name(f"{slug(job.get('prompt'))}-{short_id}{path.suffix}")
    if path.is_file() and path != target:
        path.replace(target)
    return {**download, "path": str(target), "dag_id": dag_id, "job_id": job_id, "prompt": job.get("prompt")}


def finish_after_first_check(control: Any, job_id: str, in_s: float) -> threading.Event:
    """Let a long-running simulated job finish ``in_s`` seconds after the API was first asked about it.

    Returns an event that stops the watcher (set it when the run is over).
    """
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            counters = control.stats()["jobs"].get(job_id, {}).get("endpoints", {})
            if sum(endpoint["requests"] for endpoint in counters.values()):
                view = control.job(job_id)
                ran = control.now() - view["created_at"] - view["timeline"]["queued_s"]
                control.update_job(job_id, running_s=max(ran, 0.0) + in_s)
                return
            stop.wait(0.1)

    threading.Thread(target=watch, name="release tensorpix job", daemon=True).start()
    return stop


# ----- reading results back -----------------------------------------------------------------------


def read_run(dag_id: str) -> dict[str, Any] | None:
    """The latest run of ``dag_id`` from the metadata DB: state, task states and every XCom."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())).first()
        if run is None:
            return None
        states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances(session=session)}
        xcoms = {
            (row.task_id, row.map_index, row.key): XComModel.deserialize_value(row)
            for row in session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=dag_id))
            if not row.key.startswith("_link_")
        }
        return {"run_id": run.run_id, "state": str(run.state), "states": states, "xcoms": xcoms}


def task_label(task_id: str, map_index: int) -> str:
    return f"{task_id}[{map_index}]" if map_index >= 0 else task_id


def waits(control: Any, job_id: str) -> str:
    """How the wait went, from the simulator's request counters for this job."""
    counters = control.stats()["jobs"].get(job_id, {}).get("endpoints", {})
    checks = sum(c["requests"] for name, c in counters.items() if name.startswith("GET") and "content" not in name)
    if checks > 1:
        return f"still running when the sensor looked; it deferred and the trigger polled ({checks} status checks)"
    return f"already finished when the sensor looked ({checks} status check)"


def print_job(job: dict[str, Any]) -> None:
    video = job.get("video") or {}
    resolution = f"{video.get('width')}x{video.get('height')}" if video.get("width") else "-"
    print(f"      job        {job['provider']} {job['job_id']}  {job['status']} (API status {job['vendor_status']!r})")
    print(f"      prompt     {job.get('prompt')!r}, model {job.get('model')}")
    duration = _num(video.get("duration_seconds"), " s")
    print(f"      video      {duration}, {resolution}, {hide_signature(video.get('url'))}")
    print(f"      cost       {job['cost'] if job.get('cost') is not None else 'not reported by this API'}")


def print_file(download: dict[str, Any]) -> None:
    print(f"      saved      {download['path']} ({download['bytes']:,} bytes, sha256 {download['sha256'][:16]}…)")


def hide_signature(url: str | None) -> str:
    """A pre-signed URL is a download credential until it expires: keep its query out of the output."""
    if not url:
        return "-"
    return url.split("?", 1)[0] + "?<signature hidden>" if "signature=" in url else url


def hide_signatures(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: hide_signatures(v) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("http"):
        return hide_signature(value)
    return value


def _num(value: Any, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def last_error(log: Path) -> str:
    """The last Python exception line in a log, as a one-line reason."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    for line in reversed(lines):
        text = line.strip()
        head = text.split(":", 1)[0]
        if head.replace(".", "").replace("_", "").isalnum() and head.endswith(("Error", "Exception", "Timeout")):
            return text[:300]
    return "see the log"


REAL_APIS = """
Against the real APIs, the same DAGs need only their connections changed (keys from each vendor):

  airflow connections add tensorpix_default --conn-type tensorpix --conn-password "$TENSORPIX_API_KEY"
  airflow connections add aihubmix_default  --conn-type aihubmix  --conn-password "$AIHUBMIX_API_KEY"
  airflow connections add replicate_default --conn-type replicate --conn-password "$REPLICATE_API_TOKEN"

(an empty host means https://backend.tensorpix.ai, https://aihubmix.com and https://api.replicate.com; or set
AIRFLOW_CONN_AIHUBMIX_DEFAULT='{"conn_type": "aihubmix", "password": "..."}'). Leave the DAGs'
extra_params at its default {}: the "sim" settings only steer the simulator. The demo made the
sensors poll every second (VIDJOBS_EXAMPLE_POLL_SECONDS=1); by default they poll every 15 s, which
suits real jobs that take minutes."""


class Stopped(Exception):
    """SIGTERM arrived: unwind like Ctrl-C (subprocess.run kills its child on the way out)."""


def _stop(signum: int, frame: Any) -> None:
    raise Stopped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reinstall", action="store_true", help="reinstall the package into .venv-demo first")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway Airflow home (SQLite DB) afterwards")
    args = parser.parse_args()
    if not in_demo_venv():
        return bootstrap(args.reinstall)
    missing = [name for name in NEEDED if find_spec(name) is None]
    if missing:
        print(f"{VENV} lacks {', '.join(missing)}; run again with --reinstall")
        return 2
    signal.signal(signal.SIGTERM, _stop)  # clean up on `kill` too: the running airflow and the simulator
    demo = Demo(keep=args.keep)
    try:
        return demo.run()
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    except Stopped:
        print("\nstopped (SIGTERM)")
        return 143
    finally:
        if demo.sim is not None:
            demo.sim.stop()
        demo.cleanup()


if __name__ == "__main__":
    sys.exit(main())
