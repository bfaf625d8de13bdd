"""One run of the ``e2e_video_waits`` DAG: jobs scripted in the simulator, waits deferred in Airflow.

Jobs are created ``stuck_queued`` so every wait defers and stays deferred until the scenario says
otherwise; ``finish()`` then moves jobs to their end. ``verify_*`` check the outcome through the REST
API, the witness file of resumptions, the trigger logs and the simulator's own view of each job.
"""

from __future__ import annotations

import collections
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_vidjobs.testing.simulator.apis import APIS

if TYPE_CHECKING:
    from .stack import E2EStack

DAG_ID = "e2e_video_waits"
TASK_ID = "wait"

#: Which API each connection of the stack talks to: every registered API's default connection, and two
#: more TensorPix ones (a key the failures scenario revokes, a connection stored only in the metadata DB).
CONN_API = {f"{api}_default": api for api in APIS} | {"tensorpix_db": "tensorpix", "tensorpix_revocable": "tensorpix"}
#: The trigger's own log line when it sees the job end (``tensorpix job <id>: succeeded 100% ...``).
_END_LINE = re.compile(rf'"event":\s*"(?:{"|".join(APIS)}) job \S+: (?:succeeded|failed|cancelled)\b')
#: Attached to a job when it ends: counts the job reads served after that (and adds one harmless header).
WITNESS_HEADERS = {"x-e2e-job-ended": "1"}
WITNESS_ENDPOINTS = {api: spec.contract.job_endpoint for api, spec in APIS.items()}
#: APIs whose jobs carry pre-signed URLs: their trigger events carry them masked, so the task resumed on a
#: worker reads a succeeded job once more (see ``url_secrets.without_url_secrets``).
REREAD_APIS = frozenset(api for api, spec in APIS.items() if spec.contract.presigned_storage)
#: The default mix: every registered API, env-var and DB-stored connections.
DEFAULT_CONNS = (*(f"{api}_default" for api in APIS), "tensorpix_db")


@dataclass
class Wait:
    map_index: int
    conn_id: str
    api: str
    job_id: str
    #: The prompt the job was created with (None: read it from the simulator's job JSON).
    prompt: str | None = None


class WaitsRun:
    """``n`` deferred waits (one mapped task each) and the simulator jobs behind them."""

    def __init__(self, stack: E2EStack, conn_ids: list[str], label: str) -> None:
        assert stack.sim is not None
        assert stack.rest is not None
        self.stack = stack
        self.sim = stack.sim.control
        self.rest = stack.rest
        self.label = label
        self.waits: list[Wait] = []
        for i, conn_id in enumerate(conn_ids):
            api = CONN_API[conn_id]
            prompt = f"e2e {label} #{i}"
            job = self.sim.create_job(api, prompt=prompt, sim={"outcome": "stuck_queued"})
            self.waits.append(Wait(i, conn_id, api, str(job["id"]), prompt))
        self.run_id = ""

    @classmethod
    def mixed(cls, stack: E2EStack, n: int, label: str, conns: tuple[str, ...] = DEFAULT_CONNS) -> WaitsRun:
        return cls(stack, [conns[i % len(conns)] for i in range(n)], label)

    def __len__(self) -> int:
        return len(self.waits)

    # -- driving -----------------------------------------------------------------------------------

    def trigger(self) -> str:
        self.rest.wait_for_dags([DAG_ID], check=self.stack.check)
        self.rest.unpause(DAG_ID)
        conf = {"waits": [{"conn_id": w.conn_id, "job_id": w.job_id} for w in self.waits]}
        self.run_id = self.rest.trigger(DAG_ID, conf, run_id=f"e2e__{self.label}__{int(time.time())}")
        return self.run_id

    def states(self) -> dict[str, int]:
        return self.rest.state_counts(DAG_ID, self.run_id, TASK_ID)

    def trigger_assignment(self) -> dict[str | None, int]:
        """``{triggerer job id (None: unassigned): number of this run's triggers}``, from the DB."""
        assert self.stack.pg is not None
        rows = self.stack.pg.psql(
            "airflow",
            "SELECT coalesce(t.triggerer_id::text, 'none'), count(*) FROM task_instance ti "
            "JOIN trigger t ON t.id = ti.trigger_id "
            f"WHERE ti.dag_id = '{DAG_ID}' AND ti.run_id = '{self.run_id}' GROUP BY 1",
        )
        out: dict[str | None, int] = {}
        for line in rows.splitlines():
            key, _, count = line.partition("|")
            out[None if key == "none" else key] = int(count)
        return out

    def wait_all_deferred(self, timeout: float) -> float:
        """Wait until every wait is deferred AND its trigger runs in a triggerer; returns seconds taken."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            self.stack.check()
            states = self.states()
            if states.get("failed") or states.get("upstream_failed"):
                raise AssertionError(f"{self.label}: waits failed before all deferred: {states}")
            if states.get("deferred", 0) == len(self):
                assignment = self.trigger_assignment()
                if sum(assignment.values()) == len(self) and None not in assignment:
                    return time.monotonic() - started
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label}: not all {len(self)} waits deferred after {timeout:.0f}s: {states}")
            time.sleep(2)

    def finish(self, waits: list[Wait], outcome: str = "completed", **timeline: Any) -> None:
        """End these jobs now (``completed`` or ``failed``, with optional error code/message).

        The same control request attaches a harmless header rule to the job, whose ``seen`` counter then
        counts exactly the API reads served after the job ended (see ``reads_after_end``).
        """
        for w in waits:
            self.sim.update_job(
                w.job_id,
                faults=[{"kind": "headers", "endpoint": WITNESS_ENDPOINTS[w.api], "headers": WITNESS_HEADERS}],
                outcome=outcome,
                queued_s=0,
                running_s=0,
                **timeline,
            )

    def wait_done(self, timeout: float) -> str:
        return self.rest.wait_run(DAG_ID, self.run_id, timeout, check=self.stack.check)

    def wait_tasks_done(self, waits: list[Wait], timeout: float) -> None:
        """Wait until these mapped tasks reached a terminal state (the rest may still wait)."""
        wanted = {w.map_index for w in waits}
        deadline = time.monotonic() + timeout
        while True:
            self.stack.check()
            tis = self.tis()
            pending = [i for i in wanted if tis[i]["state"] not in ("success", "failed", "skipped")]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label}: {len(pending)} waits still not done: {pending[:10]}")
            time.sleep(2)

    # -- evidence ----------------------------------------------------------------------------------

    def tis(self) -> dict[int, dict[str, Any]]:
        return {int(ti["map_index"]): ti for ti in self.rest.task_instances(DAG_ID, self.run_id, TASK_ID)}

    def completions(self) -> collections.Counter[int]:
        """How many times each map index of this run resumed (``execute_complete`` calls)."""
        counts: collections.Counter[int] = collections.Counter()
        path = self.stack.completions_file
        if not path.exists():
            return counts
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["run_id"] == self.run_id:
                counts[int(record["map_index"])] += 1
        return counts

    def _trigger_logs(self) -> list[Path]:
        assert self.stack.airflow is not None
        base = self.stack.airflow.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={self.run_id}" / f"task_id={TASK_ID}"
        return sorted(base.glob("map_index=*/attempt=*.log.trigger.*.log"))

    def fired_counts(self) -> collections.Counter[int]:
        """How many "Trigger fired event" lines each map index has in its trigger logs (all triggerers)."""
        counts: collections.Counter[int] = collections.Counter()
        for path in self._trigger_logs():
            map_index = int(path.parent.name.split("=", 1)[1])
            counts[map_index] += path.read_text(errors="replace").count('"Trigger fired event"')
        return counts

    def firings(self) -> dict[int, list[str]]:
        """``{map_index: [triggerer job id, ...]}``: the triggerers whose log shows this wait's trigger fire.

        Evidence for the report, not proof: a log counts if it has Airflow's "Trigger fired event" line or
        the trigger's own line for the job's end, and a triggerer's last trigger-log lines can be lost
        (seen after kill -9). ``reads_after_end`` is the count to assert on.
        """
        out: dict[int, list[str]] = {w.map_index: [] for w in self.waits}
        for path in self._trigger_logs():
            map_index = int(path.parent.name.split("=", 1)[1])
            text = path.read_text(errors="replace")
            if '"Trigger fired event"' in text or _END_LINE.search(text):
                out.setdefault(map_index, []).append(path.name.rsplit(".", 2)[-2])
        return out

    def reads_after_end(self, waits: list[Wait] | None = None) -> dict[int, int]:
        """``{map_index: GETs of the job served after it ended}``, from the simulator's own counter.

        A trigger yields its event on the first read that shows the job ended, and only a trigger (or
        the worker's pre-deferral check) reads the job, so with no API errors this number is how many
        times the wait's trigger fired: 1 when it fired exactly once, 2 when it ran on two triggerers.
        The resumed task's one read of a succeeded job with signed URLs (``REREAD_APIS``) is not counted.
        """
        waits = self.waits if waits is None else waits
        out: dict[int, int] = {}
        for w in waits:
            view = self.sim.job(w.job_id)
            rules = [r for r in view["faults"] if r.get("headers") == WITNESS_HEADERS]
            # The resumed task's own read of a succeeded job whose event carried masked signed URLs.
            resumed_read = 1 if w.api in REREAD_APIS and view["phase"] == "completed" else 0
            out[w.map_index] = sum(int(r["seen"]) for r in rules) - resumed_read
        return out

    def sim_requests(self) -> dict[str, dict[str, Any]]:
        """The simulator's per-job counters for this run's jobs."""
        jobs = self.sim.stats()["jobs"]
        return {w.job_id: jobs.get(w.job_id, {"requests": 0, "statuses": {}}) for w in self.waits}

    # -- checks ------------------------------------------------------------------------------------

    def verify_each_resumed_once(self, waits: list[Wait] | None = None) -> None:
        """try_number 1 (no retry) and exactly one ``execute_complete`` per wait."""
        waits = self.waits if waits is None else waits
        tis = self.tis()
        completions = self.completions()
        retried = {w.map_index: tis[w.map_index]["try_number"] for w in waits if tis[w.map_index]["try_number"] != 1}
        assert not retried, f"{self.label}: waits ran more than one try: {retried}"
        wrong = {w.map_index: completions.get(w.map_index, 0) for w in waits if completions.get(w.map_index, 0) != 1}
        assert not wrong, f"{self.label}: execute_complete ran != 1 time for (map_index: count) {wrong}"

    def verify_succeeded(self, waits: list[Wait] | None = None) -> None:
        """Every wait succeeded and its XCom ``return_value`` matches the simulator's view of the job."""
        waits = self.waits if waits is None else waits
        tis = self.tis()
        bad = {w.map_index: tis[w.map_index]["state"] for w in waits if tis[w.map_index]["state"] != "success"}
        assert not bad, f"{self.label}: waits not successful (map_index: state): {bad}"
        xcoms = self.rest.xcoms(DAG_ID, self.run_id, TASK_ID)
        for w in waits:
            assert w.map_index in xcoms, f"{self.label}: no return_value XCom for map index {w.map_index}"
            assert_matches_simulator(xcoms[w.map_index], self.sim.job(w.job_id), w)


def _strip_query(url: str | None) -> str | None:
    """A pre-signed URL without its (time-dependent) signature."""
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def assert_matches_simulator(xcom: Any, view: dict[str, Any], wait: Wait) -> None:
    """Compare the normalized job in XCom with the simulator's control view (values, not key order)."""
    assert isinstance(xcom, dict), f"XCom of {wait} is not a dict: {xcom!r}"
    vendor = view["vendor"]
    where = f"{wait.api} job {wait.job_id} (map index {wait.map_index})"
    expected: dict[str, Any] = {
        "schema_version": 1,
        "provider": wait.api,
        "job_id": wait.job_id,
        "status": "succeeded",
        "vendor_status": vendor["status"],
        "prompt": wait.prompt if wait.prompt is not None else vendor["prompt"],
    }
    assert view["phase"] == "completed", f"{where}: simulator says {view['phase']}"
    actual = {k: xcom.get(k) for k in expected}
    assert actual == expected, f"{where}: XCom {actual} != simulator {expected}"
    assert xcom.get("progress") in (100, 100.0), f"{where}: progress {xcom.get('progress')}"
    assert xcom.get("error") is None, f"{where}: error {xcom.get('error')}"
    video = xcom.get("video") or {}
    if wait.api == "tensorpix":
        gen = vendor["generated_video"]
        exp_video = {
            "video_id": gen["id"],
            "width": gen["width"],
            "height": gen["height"],
            "frame_count": gen["n_frames"],
            "url": _strip_query(gen["file"]),
            "thumbnail_url": _strip_query(gen["thumbnail"]),
        }
        got_video = {k: video.get(k) for k in exp_video}
        got_video["url"] = _strip_query(got_video["url"])
        got_video["thumbnail_url"] = _strip_query(got_video["thumbnail_url"])
        assert got_video == exp_video, f"{where}: video {got_video} != simulator {exp_video}"
    elif wait.api == "aihubmix":
        exp_video = {"width": vendor["width"], "height": vendor["height"]}
        got_video = {k: video.get(k) for k in exp_video}
        assert got_video == exp_video, f"{where}: video {got_video} != simulator {exp_video}"
        assert xcom.get("model") == vendor["model"], f"{where}: model {xcom.get('model')} != {vendor['model']}"
    else:
        # Any other registered API: the video URL the XCom hands on is one the simulator's job JSON gives.
        url = _strip_query(video.get("url"))
        assert url, f"{where}: a succeeded job with no video URL"
        assert url in json.dumps(vendor), f"{where}: video URL {url} is not in the simulator's job {vendor}"
