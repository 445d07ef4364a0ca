"""A service of a developer's compose project: prometheus_client metrics on a port, nothing else.

Run inside a container of the local Python image, with this directory and the prometheus_client
package of the test environment mounted (it is pure Python): `python3 container_app.py PORT NAME`.
It serves /metrics (the client's defaults plus `fake_app_requests_total{service=NAME}`, which grows)
and /other/metrics (the same, for containers that name another path).
"""

from __future__ import annotations

import sys
import threading
import time
from http.server import ThreadingHTTPServer

from prometheus_client import REGISTRY, Counter, MetricsHandler


def main() -> None:
    port, name = int(sys.argv[1]), sys.argv[2]
    requests = Counter("fake_app_requests", "Requests the fake app pretends to have served", ["service"])
    server = ThreadingHTTPServer(("0.0.0.0", port), MetricsHandler.factory(REGISTRY))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"{name}: metrics on :{port}", flush=True)
    while True:
        requests.labels(name).inc()
        time.sleep(1.0)


if __name__ == "__main__":
    main()
