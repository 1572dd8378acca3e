"""The run command of the README: it serves the demo, and Ctrl-C stops everything."""

import http.cookiejar
import os
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EMBEDDED_DEFAULTS = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE",
                     "DJANGO_ALLOW_ASYNC_UNSAFE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def running_demo(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_DEFAULTS}
    env.update({"PORT": str(port), "VAR_DIR": str(tmp_path / "var")})
    log = open(tmp_path / "run.log", "w+")
    process = subprocess.Popen(["bash", "scripts/run"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    while "is running" not in (tmp_path / "run.log").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("the run command did not start:\n" + (tmp_path / "run.log").read_text())
        time.sleep(0.5)
    yield process, port, tmp_path / "run.log"
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)


def test_the_run_command_serves_the_demo_and_stops_on_ctrl_c(running_demo):
    process, port, log = running_demo
    base = f"http://127.0.0.1:{port}"
    assert f"{base}/" in log.read_text()

    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = browser.open(f"{base}/accounts/login/").read().decode()
    assert "工作人员登录" in login_page
    token = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    form = urllib.parse.urlencode({"username": "clerk", "password": "demo-pass-2026",
                                   "csrfmiddlewaretoken": token}).encode()
    landing = browser.open(f"{base}/accounts/login/", data=form).read().decode()
    assert "接待登记工作台" in landing
    assert "XF-" in landing  # the demo cases are there
    css = browser.open(f"{base}/static/css/app.css")
    assert css.status == 200  # static files are served without DEBUG

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    process.wait(timeout=60)
    deadline = time.monotonic() + 20
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_open(port), "the web server is still listening after Ctrl-C"
    # Dead children waiting for init to reap them (state Z) have stopped; anything else
    # still in the process group outlived the run command.
    states = subprocess.run(["ps", "-o", "pid=,stat=,cmd=", "-g", str(process.pid)],
                            capture_output=True, text=True).stdout.splitlines()
    alive = [line for line in states if line.split()[1][0] != "Z"]
    assert alive == [], "processes of the run command outlived it"
