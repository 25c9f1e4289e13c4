"""JSON parsing that answers 400, never 500, whatever the body holds."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSONParser, with absurd nesting turned into a 400 instead of a RecursionError.

    The body's size is bounded before parsing: DRF reads it through `request.body`,
    which enforces DATA_UPLOAD_MAX_MEMORY_SIZE (413, see error_handlers).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as e:
            raise ParseError("JSON parse error - nested too deeply.") from e
