"""What every response tells the browser: a Content-Security-Policy that allows this site's
own scripts and styles only, Permissions-Policy, HSTS preload only when configured; and
`next` sends nobody off the site."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from cases.models import State
from tests.factories import drive_to

ROOT = Path(__file__).resolve().parents[2]
ELSEWHERE = ["https://elsewhere.example/phish", "//elsewhere.example/", "/\\elsewhere.example",
             "https:elsewhere.example", "javascript:alert(1)"]


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";"))}


@pytest.mark.parametrize("path", ["/accounts/login/", "/public/submit/", "/no-such-page/"])
def test_every_page_carries_the_policy_even_without_login(client, db, path):
    response = client.get(path)
    directives = policy(response)
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]  # no nonce asked for, none given
    assert directives["style-src"][0] == "'self'"  # and one admin style attribute's hash
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert directives["form-action"] == ["'self'"] and directives["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]


def test_the_dashboard_s_charts_come_from_this_site(client, world):
    client.force_login(world.supervisor)
    response = client.get(reverse("oversight:dashboard"))
    page = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>", page)
    assert 'src="/static/vendor/chart.js/chart.umd.min.js"' in " ".join(scripts)
    # Every script is this site's file, or data that never runs (json_script).
    assert all('src="/static/' in attributes or 'type="application/json"' in attributes
               for attributes in scripts)
    assert policy(response)["connect-src"] == ["'self'"]


def test_an_inline_script_runs_only_with_the_request_s_nonce(client, world):
    case = drive_to(world, State.ACCEPTED)
    client.force_login(world.dispatcher)
    response = client.get(reverse("dispatch:dispatch", args=[case.number]))
    nonce = re.search(r"<script nonce=\"([^\"]+)\">", response.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in policy(response)["script-src"]
    again = client.get(reverse("dispatch:dispatch", args=[case.number]))
    assert f"'nonce-{nonce}'" not in policy(again)["script-src"]  # a new one each time


TEMPLATES = sorted(path for path in (ROOT / "templates").rglob("*.html")
                   if "documents" not in path.parts)  # PDFs are drawn by WeasyPrint


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_page_template_needs_unsafe_inline(template):
    """Inline handlers and style attributes cannot carry a nonce, so the policy would
    block them; an inline script must carry the request's nonce."""
    text = template.read_text()
    assert not re.search(r"\son[a-z]+\s*=", text), "an inline event handler"
    assert not re.search(r"\sstyle\s*=", text), "a style attribute"
    assert "<style" not in text, "a <style> element"
    for attributes in re.findall(r"<script([^>]*)>", text):
        assert "src=" in attributes or 'nonce="{{ request.csp_nonce }}"' in attributes


def test_browser_features_no_page_uses_are_switched_off(client, db):
    header = client.get("/accounts/login/").headers["Permissions-Policy"]
    assert header == "camera=(), microphone=(), geolocation=(), payment=()"


def test_static_files_carry_the_headers_too(client, db):
    response = client.get("/static/js/autosubmit.js")
    assert "Content-Security-Policy" in response.headers
    assert "Permissions-Policy" in response.headers


def _hsts(settings, preload: bool) -> str:
    from django.test import Client

    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = preload
    # A new client: the security middleware reads the settings when it is made.
    return Client().get("/accounts/login/", secure=True).headers["Strict-Transport-Security"]


def test_hsts_asks_for_preloading_only_when_configured(db, settings):
    assert _hsts(settings, preload=False) == "max-age=31536000; includeSubDomains"
    assert _hsts(settings, preload=True) == "max-age=31536000; includeSubDomains; preload"


def _settings_under(environment: dict) -> str:
    leave_out = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "SECURE_HSTS_PRELOAD"}
    env = {key: value for key, value in os.environ.items() if key not in leave_out}
    env.update(environment, DJANGO_SETTINGS_MODULE="config.settings")
    code = ("from django.conf import settings; "
            "print(settings.SECURE_HSTS_PRELOAD, settings.SILENCED_SYSTEM_CHECKS)")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True).stdout.strip()


def test_https_alone_does_not_preload(tmp_path):
    assert _settings_under({"HTTPS": "true", "VAR_DIR": str(tmp_path)}) == \
        "False ['security.W021']"
    assert _settings_under({"HTTPS": "true", "SECURE_HSTS_PRELOAD": "true",
                            "VAR_DIR": str(tmp_path)}) == "True []"


# ---------------------------------------------------------------- next stays on this site
@pytest.mark.parametrize("target", ELSEWHERE)
def test_taking_a_case_never_goes_back_to_another_site(client, world, target):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.handler)
    response = client.post(reverse("dispatch:take", args=[case.number]), {"next": target})
    assert response.status_code == 302 and response.url == reverse("dispatch:inbox")
    response = client.post(reverse("dispatch:take", args=[case.number]) + "?next=" + target)
    assert response.url == reverse("dispatch:inbox")  # refused the second time, same way


@pytest.mark.parametrize("target", ELSEWHERE)
def test_assigning_a_case_never_goes_back_to_another_site(client, world, target):
    case = drive_to(world, State.IN_HANDLING)
    world.a.members.add(world.head)
    client.force_login(world.head)
    url = reverse("dispatch:assign", args=[case.number])
    response = client.post(url, {"handler": world.head.pk, "next": target})
    assert response.status_code == 302 and response.url == reverse("dispatch:inbox")
    response = client.post(url, {"handler": "", "next": target})  # refused form
    assert response.status_code == 302 and response.url == reverse("dispatch:inbox")


def test_a_next_on_this_site_is_followed(client, world):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.handler)
    here = reverse("dispatch:inbox") + "?department=" + str(world.a.pk)
    response = client.post(reverse("dispatch:take", args=[case.number]), {"next": here})
    assert response.url == here


@pytest.mark.parametrize("target", ELSEWHERE)
def test_an_act_page_never_links_or_goes_to_another_site(client, world, target):
    case = drive_to(world, State.DISPATCHED)
    client.force_login(world.handler)
    url = reverse("cases:act", args=[case.number, "return"])
    response = client.get(url, {"next": target})
    assert response.status_code == 200 and response.context["next"] == ""
    form = re.search(r'<form method="post" enctype.*?</form>', response.content.decode(), re.S).group()
    assert "elsewhere" not in form and "javascript:" not in form  # nor 取消's link
    response = client.post(url + "?next=" + target, {"reason": "不属本部门职责", "next": target})
    assert response.status_code == 302
    assert response.url == reverse("cases:detail", args=[case.number])


@pytest.mark.parametrize("target", ELSEWHERE)
def test_signing_in_never_goes_on_to_another_site(client, world, target):
    from tests.factories import PASSWORD

    response = client.post(reverse("login") + "?next=" + target,
                           {"username": world.handler.username, "password": PASSWORD,
                            "next": target})
    assert response.status_code == 302 and response.url == reverse("home")


def test_the_language_menu_never_goes_on_to_another_site(client, db):
    response = client.post(reverse("set_language"),
                           {"language": "en", "next": ELSEWHERE[0]})
    assert response.status_code == 302 and "elsewhere" not in response.url
