"""Domain errors. Views and the API turn them into a readable message, never a 500."""


class CaseError(Exception):
    """A rule of the office refused the act; str(error) is the message for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class CaseTransitionError(CaseError):
    """The case is not in a state (or condition) where this act is allowed."""


class CaseConflictError(CaseTransitionError):
    """Someone else changed the case between reading and saving it."""


class RecordConflict(Exception):
    """What was sent contradicts a stored record (an ID number already registered to
    another name or phone): the person must decide; never overwritten silently. Carries
    field errors like a ValidationError; pages show them on the fields, the API answers
    409 with them."""

    def __init__(self, errors: dict) -> None:
        super().__init__(errors)
        self.errors = errors
