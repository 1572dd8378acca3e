"""Registrations over HTTP: gunicorn on loopback, from many clients at once, through the
API's POST /api/v1/cases/ (register and accept) and through the counter's form
(POST /intake/register/ as a logged-in clerk, CSRF and session as a browser sends them).

    bench/run http-intake --requests 1000 --clients 16 --workers 4 [--target api|form]

Starts gunicorn against the bench's PostgreSQL, posts `requests` registrations per target
from `clients` threads (each its own keep-alive connection and, for the form, its own
login), bounded by `--seconds`, and prints req/s and p50/p95/p99 with the goal (≥ 200
req/s with p95 < 100 ms) and the ratio. Loopback only.
"""

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

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
PASSWORD = "http-bench-pass-2026"
GOAL_RATE, GOAL_P95 = 200, 100


def prepare() -> tuple[str, int]:
    tier = TierPolicy.objects.get(code="T3")
    top, _ = Category.objects.get_or_create(name="压测分类", defaults={"default_tier": tier})
    sub, _ = Category.objects.get_or_create(name="压测子类", parent=top,
                                            defaults={"default_tier": tier})
    clerk, _ = get_user_model().objects.get_or_create(username="http-bench-clerk")
    clerk.groups.add(Group.objects.get(name="clerk"))
    clerk.set_password(PASSWORD)
    clerk.save(update_fields=["password"])
    token, _ = Token.objects.get_or_create(user=clerk)
    return token.key, sub.pk


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def complaint(rng) -> dict:
    place, problem = rng.choice(PLACES), rng.choice(PROBLEMS)
    number = rng.randint(1, 400)
    return {"summary": f"{place}{number}号{problem}", "place": f"{place}{number}号",
            "content": f"{place}{number}号附近{problem}已有{rng.randint(2, 30)}天，请尽快处理。",
            "name": f"市民{rng.randint(1, 99999)}",
            "phone": f"139{rng.randint(0, 99999999):08d}"}


# A 12345 ticket and the counter's form carry the place; --no-place sends the wording
# alone (the repeat check then compares the wording over the whole window).
WITH_PLACE = True


def body(rng, category: int) -> bytes:
    matter = complaint(rng)
    return json.dumps({
        "channel": "phone", "outcome": "accept", "category": category,
        "summary": matter["summary"], "content": matter["content"],
        "petitioner": {"name": matter["name"], "phone": matter["phone"]},
        "request_id": str(uuid.uuid4()), **({"place": matter["place"]} if WITH_PLACE else {}),
    }, ensure_ascii=False).encode()


class ApiClient:
    """The platform's way in: a token, JSON, 201 when registered."""

    path, expected = "/api/v1/cases/", 201

    def __init__(self, port: int, key: str, category: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
        self.category = category

    def post(self, rng) -> tuple[int, bytes]:
        self.connection.request("POST", self.path, body(rng, self.category), self.headers)
        answer = self.connection.getresponse()
        return answer.status, answer.read()


class FormClient:
    """The counter's way in: a clerk logged in through the login page, the register form
    posted with its CSRF token, 302 to the new case when saved."""

    path, expected = "/intake/register/", 302

    def __init__(self, port: int, key: str, category: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.category, self.cookies = category, SimpleCookie()
        page = self.request("GET", "/accounts/login/")[1].decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, _ = self.request("POST", "/accounts/login/", urlencode({
            "csrfmiddlewaretoken": token, "username": "http-bench-clerk",
            "password": PASSWORD}))
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"the bench clerk could not log in (status {status})")

    def request(self, method: str, path: str, data: str | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v.value}" for k, v in self.cookies.items())}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, data.encode() if data else None, headers)
        answer = self.connection.getresponse()
        for header in answer.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)
        return answer.status, answer.read()

    def post(self, rng) -> tuple[int, bytes]:
        matter = complaint(rng)
        return self.request("POST", self.path, urlencode({
            "csrfmiddlewaretoken": self.cookies["csrftoken"].value,
            "submission_token": str(uuid.uuid4()), "channel": "phone", "gender": "unknown",
            "name": matter["name"], "phone": matter["phone"], "summary": matter["summary"],
            "content": matter["content"], "category": self.category, "outcome": "accept",
            **({"place": matter["place"]} if WITH_PLACE else {}),
        }))


TARGETS = {"api": ("POST /api/v1/cases/ (register and accept)", ApiClient),
           "form": ("POST /intake/register/ (the counter's form, register and accept)",
                    FormClient)}


def load(port: int, key: str, category: int, kind, options) -> None:
    label, client_class = TARGETS[kind]
    # Warm each worker (imports, the triage model, the reference tables).
    warm = client_class(port, key, category)
    for _ in range(options.workers * 3):
        warm.post(random.Random())
    samples: list[float] = []
    statuses: dict[int, int] = {}
    odd: list[bytes] = []
    lock = threading.Lock()
    left = [options.requests]
    ends = time.monotonic() + options.seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        visitor = client_class(port, key, category)
        while time.monotonic() < ends:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            started = time.perf_counter()
            status, answer = visitor.post(rng)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                samples.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                if status != visitor.expected and not odd:
                    odd.append(answer[:300])
        visitor.connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(options.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    samples.sort()

    def pct(p):
        return samples[min(len(samples) - 1, int(len(samples) * p))]

    rate = len(samples) / wall
    print(f"{label}: {len(samples)} requests, "
          f"{options.clients} clients, {options.workers} gunicorn workers, {wall:.1f} s")
    print(f"  statuses {statuses} (expected {client_class.expected})")
    if odd:
        print(f"  first unexpected answer: {odd[0].decode(errors='replace')!r}")
    print(f"  {rate:.0f} req/s   p50 {statistics.median(samples):.1f} ms   "
          f"p95 {pct(0.95):.1f} ms   p99 {pct(0.99):.1f} ms")
    print(f"  goal: >= {GOAL_RATE} req/s with p95 < {GOAL_P95} ms; ratio "
          f"{GOAL_RATE / rate:.2f} (rate), {pct(0.95) / GOAL_P95:.2f} (p95)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seconds", type=float, default=120, help="stop after this long")
    parser.add_argument("--target", choices=sorted(TARGETS), action="append",
                        help="api or form (repeatable; both by default, one after the other)")
    parser.add_argument("--no-place", action="store_true",
                        help="send no place: the repeat check by the wording alone")
    options = parser.parse_args()
    global WITH_PLACE
    WITH_PLACE = not options.no_place
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
        for kind in options.target or ["api", "form"]:
            load(port, key, category, kind, options)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
