"""Shared by the benchmarks: Django set-up and the timing of repeated runs."""

import os
import statistics
import sys
import time
from pathlib import Path


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CONN_MAX_AGE", "60")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("STATICFILES_STORAGE",
                          "django.contrib.staticfiles.storage.StaticFilesStorage")
    import django

    django.setup()


def timed(label: str, action, runs: int, goal_ms: float | None = None) -> None:
    """Run `action` `runs` times; print p50 and p95 in milliseconds (and, given the
    issue's goal for the p95, the goal and the ratio p95 / goal)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    goal = f"   goal < {goal_ms:g} ms   ratio {p95 / goal_ms:5.2f}" if goal_ms else ""
    print(f"{label:<48} p50 {statistics.median(samples):8.1f} ms   p95 {p95:8.1f} ms{goal}"
          f"   (n={runs})")
