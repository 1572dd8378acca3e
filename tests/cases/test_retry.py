"""An act that meets a deadlock or a lock it could not get in time is tried once more,
as a whole, when it is the outermost transaction; a second failure goes up (409)."""

import pytest
from django.db import OperationalError, transaction

from cases.services import act_transaction


class DriverError(Exception):
    """What psycopg2 raises under Django's OperationalError, with its SQLSTATE."""

    def __init__(self, pgcode):
        super().__init__(pgcode)
        self.pgcode = pgcode


def contention(code: str) -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = DriverError(code)
    return error


def flaky(*codes):
    """A service failing with these codes, then succeeding; counts its tries."""
    tries = []

    @act_transaction
    def service(upload=None):
        tries.append(upload.read() if upload else None)
        if len(tries) <= len(codes):
            raise contention(codes[len(tries) - 1])
        return "done"

    return service, tries


def test_a_deadlock_is_tried_once_more(committed_db):
    from django.core.files.uploadedfile import SimpleUploadedFile

    service, tries = flaky("40P01")
    upload = SimpleUploadedFile("letter.pdf", b"%PDF-1.4 letter")
    assert service(upload=upload) == "done"
    assert tries == [b"%PDF-1.4 letter"] * 2  # the upload read again from its start


@pytest.mark.parametrize("code", ["40001", "55P03"])
def test_a_serialisation_failure_or_lock_timeout_is_tried_once_more(committed_db, code):
    service, tries = flaky(code)
    assert service() == "done" and len(tries) == 2


def test_only_once(committed_db):
    service, tries = flaky("40P01", "40P01")
    with pytest.raises(OperationalError):
        service()
    assert len(tries) == 2


def test_a_statement_timeout_is_not_retried(committed_db):
    service, tries = flaky("57014")
    with pytest.raises(OperationalError):
        service()
    assert len(tries) == 1


def test_inside_an_outer_transaction_the_error_goes_up_untried(committed_db):
    service, tries = flaky("40P01")
    with pytest.raises(OperationalError), transaction.atomic():
        service()
    assert len(tries) == 1
