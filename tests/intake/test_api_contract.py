"""The API keeps its described contract: every operation of the schema, driven with
generated input (schemathesis, a bounded number of examples each) as a platform and as
staff, answers no 5xx and only what the schema says (status, content type, body)."""

import pytest
from django.core import signals
from django.db import close_old_connections
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from intake.models import Platform, PlatformAPIKey
from intake.platforms import ensure_account
from tests.factories import register

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
APP = get_wsgi_application()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def in_process_requests():
    """Requests through the WSGI app keep the test's connection (and its transaction), as
    Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def callers(world, in_process_requests):
    """A platform key (with a case of its own) and a dispatcher's token, and a case number
    each may or may not see."""
    platform = ensure_account(Platform.objects.create(name="12345", code="c12345"))
    _key, secret = PlatformAPIKey.objects.create_key(name="contract", platform=platform)
    case = register(world)
    return {"numbers": [case.number],
            "headers": [{"Authorization": f"Api-Key {secret}"},
                        {"Authorization": f"Token {Token.objects.create(user=world.dispatcher).key}"}]}


@schema.parametrize()
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_every_operation_keeps_the_contract(case, callers):
    if "number" in (case.path_parameters or {}) and case.path_parameters["number"][:1] in "0123456789":
        case.path_parameters["number"] = callers["numbers"][0]
    for headers in callers["headers"]:
        response = case.call(app=APP, headers=headers)
        case.validate_response(response, checks=CHECKS)
