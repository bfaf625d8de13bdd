"""``python -m airflow_provider_vidjobs.check_connection <conn_id>``: test a connection and print OUR message.

Airflow's ``airflow connections test`` prints only ``Connection success!`` when a test passes (the
message reaches the UI and the REST API only); this prints what the hook says either way
(``Works: ...``, ``Key rejected by ...``, ``Host unreachable: ...``) and exits 0 or 1. It looks the
connection up as Airflow's CLI does (environment, secrets backends, then the metadata DB), and needs
no ``[core] test_connection`` setting: it is not Airflow's endpoint.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_vidjobs.check_connection",
        description="Test a TensorPix, AIHubMix or Replicate connection and print what the API said.",
    )
    parser.add_argument("conn_id", help="the connection id, e.g. tensorpix_default")
    parser.add_argument("--provider", help="the API, when the connection's type is not a video API type")
    args = parser.parse_args(argv)
    # As `airflow connections test` does: read connections as a server process (no task supervisor here).
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    from airflow_provider_vidjobs.waiting import make_hook

    ok, message = make_hook(args.provider, args.conn_id).test_connection()
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
