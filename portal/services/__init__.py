"""What users can do, as typed functions taking the actor. Services flush; requests commit."""


class ServiceError(Exception):
    """A refusal in plain words, shown to the user as it is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
