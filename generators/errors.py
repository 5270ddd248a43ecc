"""The one error type the engine raises for a dataset spec a user can fix."""


class SpecError(Exception):
    """A dataset spec was rejected; says where (``field``), why (``detail``) and a ``code``.

    ``field`` is a path into the submitted spec such as ``"fields[3].type"``,
    ``"rows"`` or ``"body"`` (the request body as a whole).
    """

    def __init__(self, field: str, detail: str, code: str = "invalid_field") -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail
        self.code = code

    def to_dict(self) -> dict[str, str]:
        """Return the error body the API sends: ``{"error", "field", "detail"}``."""
        return {"error": self.code, "field": self.field, "detail": self.detail}
