"""deploy/nginx.conf in front of two daphne workers: sockets pass through the upgrade, are spread
round robin over both workers, and survive one worker's death. Needs an nginx binary
(scripts/setup installs Debian's nginx-light): skipped without one locally, a failure in CI."""
from __future__ import annotations

import subprocess
from pathlib import Path

import psutil
import pytest
from kit import finish, start, tables

from bench.stack import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres,
              pytest.mark.timeout(150)]


def _config(tmp: Path, listen: int, a: int, b: int) -> Path:
    """The example, pointed at our ports, inside a minimal main configuration."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = (site.replace("127.0.0.1:8001", f"127.0.0.1:{a}")
            .replace("127.0.0.1:8002", f"127.0.0.1:{b}")
            .replace("listen 80;", f"listen 127.0.0.1:{listen};")
            .replace("/srv/dtao/staticfiles/", f"{ROOT}/staticfiles/")
            .replace("/var/log/nginx/", f"{tmp}/"))
    (tmp / "site.conf").write_text(site)
    temp = " ".join(f"{k}_temp_path {tmp}/{k};" for k in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = tmp / "nginx.conf"
    main.write_text(f"worker_processes 1; daemon off; pid {tmp}/nginx.pid;\n"
                    f"error_log {tmp}/error.log warn;\n"
                    "events { worker_connections 1024; }\n"
                    f"http {{ access_log off; {temp} include {tmp}/site.conf; }}\n")
    return main


def _established(proc, port: int) -> int:
    return sum(1 for c in psutil.Process(proc.pid).net_connections("tcp")
               if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)


async def test_the_example_nginx_config_spreads_sockets_and_fails_over(stack_factory, tmp_path,
                                                                     nginx_path):
    stack = stack_factory()
    a, b, listen = free_port(), free_port(), free_port()
    worker_a, worker_b = stack.daphne(a, b)
    stack.engine()
    conf = _config(tmp_path, listen, a, b)
    check = subprocess.run([nginx_path, "-t", "-c", str(conf), "-p", str(tmp_path)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen([nginx_path, "-c", str(conf), "-p", str(tmp_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        import urllib.request

        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{listen}/healthz",
                                                  timeout=2).status == 200, 20, "nginx")
        [table] = tables(stack, 1, 6, lambda i: [f"ws://127.0.0.1:{listen}"])
        await table.connect()
        # Round robin, no stickiness: both workers hold some of the sockets.
        on_a = _established(worker_a, a)
        assert on_a > 0 and _established(worker_b, b) > 0
        start(stack, [table])
        await table.ticks(2)
        before = sum(len(p.snapshot_seqs) for p in table.players)
        worker_a.kill()
        await table.until(lambda: sum(len(p.snapshot_seqs) for p in table.players)
                          >= before + on_a, 60,
                          "a fresh snapshot for every socket of the dead worker (via nginx)")
        await table.ticks(2)
        [audit] = await finish(stack, [table])
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    assert audit["lost"] == [] and audit["queued"] == 0 and audit["acked"] > 0
    assert table.seq_of_all() == {audit["seq"]}
    assert table.m.reconnects >= on_a
