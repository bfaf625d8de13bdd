"""A faithful simulator of the TensorPix and AIHubMix (OpenAI-shaped) video-generation APIs.

Every API of the table in ``apis/`` on one server, jobs that live in time, faults on demand, counters;
see docs/simulator.md (it also says how to add an API).
Importing this package does not import Airflow (nor uvicorn, until a server is started).

    from airflow_provider_vidjobs.testing.simulator import start_simulator

    with start_simulator() as sim:
        job = sim.control.create_job("tensorpix", sim={"queued_s": 0.2, "running_s": 1})
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_vidjobs.testing.simulator.apis.aihubmix import DEFAULT_KEY as DEFAULT_AIHUBMIX_KEY
from airflow_provider_vidjobs.testing.simulator.apis.tensorpix import DEFAULT_KEY as DEFAULT_TENSORPIX_KEY
from airflow_provider_vidjobs.testing.simulator.config import SimulatorConfig
from airflow_provider_vidjobs.testing.simulator.control import ControlError, SimulatorControl
from airflow_provider_vidjobs.testing.simulator.handle import SimulatorHandle
from airflow_provider_vidjobs.testing.simulator.storage import synthetic_video_chunks, synthetic_video_sha256

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator.server import start_simulator, start_simulator_process

__all__ = [
    "DEFAULT_AIHUBMIX_KEY",
    "DEFAULT_TENSORPIX_KEY",
    "ControlError",
    "SimulatorConfig",
    "SimulatorControl",
    "SimulatorHandle",
    "start_simulator",
    "start_simulator_process",
    "synthetic_video_chunks",
    "synthetic_video_sha256",
]


def __getattr__(name: str) -> Any:
    """Import the server (and uvicorn) only when a simulator is started."""
    if name in ("start_simulator", "start_simulator_process"):
        from airflow_provider_vidjobs.testing.simulator import server

        return getattr(server, name)
    raise AttributeError(name)
