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
