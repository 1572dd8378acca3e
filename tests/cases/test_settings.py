"""Production settings come from the environment and pass Django's deploy check."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_check(extra_env: dict) -> str:
    leave_out = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {key: value for key, value in os.environ.items() if key not in leave_out}
    env.update(extra_env)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    return result.stdout + result.stderr


def test_production_environment_passes_the_deploy_check(tmp_path):
    output = run_check({
        "DEBUG": "false",
        "SECRET_KEY": "k" * 20 + "-production-secret-from-the-vault-8f3a9c1d2e7b6a5f4c3b",
        "ALLOWED_HOSTS": "petitions.example.org",
        "HTTPS": "true",
        "BEHIND_PROXY": "true",
        "PERSONAL_DATA_KEY": "p" * 20 + "-personal-data-key-from-the-vault-71c2",
        "VAR_DIR": str(tmp_path),
    })
    found = set(re.findall(r"\((\w+\.[WE]\d+)\)", output))
    assert found <= {"cases.W001"}, output  # a missing holiday year is data, not settings


def test_the_demo_defaults_are_not_production(tmp_path):
    output = run_check({"VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/db"})
    assert "security.W008" in output  # no HTTPS redirect unless HTTPS=true
    assert "cases.W002" in output  # ID numbers under a key derived from SECRET_KEY
