"""Registrations over HTTP: gunicorn on loopback, the API's POST /api/v1/cases/ (register
and accept) from many clients at once.

    bench/run http-intake --requests 1000 --clients 16 --workers 4

Starts gunicorn against the bench's PostgreSQL, posts `requests` registrations from
`clients` threads (each its own keep-alive connection), bounded by `--seconds`, and
prints req/s and p50/p95/p99 with the goal (≥ 200 req/s with p95 < 100 ms) and the
ratio. Loopback only.
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django  # noqa: E402

setup_django()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from cases.models import Category, TierPolicy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLACES = ["幸福路", "和平里", "阳光花园", "滨河小区", "东四胡同", "建设街", "人民路", "高新区"]
PROBLEMS = ["占道经营", "油烟直排", "垃圾清运不及时", "路灯不亮", "噪声扰民", "停水", "拖欠工资"]


def prepare() -> tuple[str, int]:
    tier = TierPolicy.objects.get(code="T3")
    top, _ = Category.objects.get_or_create(name="压测分类", defaults={"default_tier": tier})
    sub, _ = Category.objects.get_or_create(name="压测子类", parent=top,
                                            defaults={"default_tier": tier})
    clerk, _ = get_user_model().objects.get_or_create(username="http-bench-clerk")
    clerk.groups.add(Group.objects.get(name="clerk"))
    token, _ = Token.objects.get_or_create(user=clerk)
    return token.key, sub.pk


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def body(rng, category: int) -> bytes:
    place, problem = rng.choice(PLACES), rng.choice(PROBLEMS)
    number = rng.randint(1, 400)
    return json.dumps({
        "channel": "phone", "outcome": "accept", "category": category,
        "summary": f"{place}{number}号{problem}",
        "content": f"{place}{number}号附近{problem}已有{rng.randint(2, 30)}天，请尽快处理。",
        "petitioner": {"name": f"市民{rng.randint(1, 99999)}",
                       "phone": f"139{rng.randint(0, 99999999):08d}"},
        "request_id": str(uuid.uuid4()),
    }, ensure_ascii=False).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seconds", type=float, default=120, help="stop after this long")
    options = parser.parse_args()
    key, category = prepare()
    port = free_port()
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1,localhost", "CONN_MAX_AGE": "60"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(options.workers), "--log-level", "warning"],
        cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
        # Warm each worker (imports, the triage model, the reference tables).
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(options.workers * 3):
            warm.request("POST", "/api/v1/cases/", body(random.Random(), category), headers)
            warm.getresponse().read()
        warm.close()

        samples: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        left = [options.requests]
        ends = time.monotonic() + options.seconds

        def client(seed: int) -> None:
            rng = random.Random(seed)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while time.monotonic() < ends:
                with lock:
                    if left[0] <= 0:
                        break
                    left[0] -= 1
                payload = body(rng, category)
                started = time.perf_counter()
                connection.request("POST", "/api/v1/cases/", payload, headers)
                answer = connection.getresponse()
                answer.read()
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    samples.append(elapsed)
                    statuses[answer.status] = statuses.get(answer.status, 0) + 1
            connection.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(options.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    samples.sort()

    def pct(p):
        return samples[min(len(samples) - 1, int(len(samples) * p))]

    rate = len(samples) / wall
    print(f"POST /api/v1/cases/ (register and accept): {len(samples)} requests, "
          f"{options.clients} clients, {options.workers} gunicorn workers, {wall:.1f} s")
    print(f"  statuses {statuses}")
    print(f"  {rate:.0f} req/s   p50 {statistics.median(samples):.1f} ms   "
          f"p95 {pct(0.95):.1f} ms   p99 {pct(0.99):.1f} ms")
    print(f"  goal: >= 200 req/s with p95 < 100 ms; ratio {200 / rate:.2f} (rate), "
          f"{pct(0.95) / 100:.2f} (p95)")


if __name__ == "__main__":
    main()
