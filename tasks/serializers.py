"""The task's JSON shape and the rules a client's input must meet."""
import re

from rest_framework import serializers

from .models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, Task

SURROGATES = re.compile("[\ud800-\udfff]")


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings (DRF's also turns numbers into text).

    Lone UTF-16 surrogates, which JSON can spell but UTF-8 cannot store, are refused too;
    NUL characters already are, by DRF's CharField.
    """

    default_error_messages = {
        "invalid": "Not a valid string.",
        "surrogates": "Unpaired surrogate characters are not allowed.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if SURROGATES.search(data):
            self.fail("surrogates")
        return super().to_internal_value(data)


class TaskSerializer(serializers.ModelSerializer):
    title = StrictCharField(max_length=TITLE_MAX_LENGTH)
    description = StrictCharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
    )

    class Meta:
        model = Task
        fields = ["id", "user_id", "title", "description", "completed", "created_at", "updated_at"]
        read_only_fields = ["id", "user_id", "created_at", "updated_at"]

    def validate_description(self, value):
        return "" if value is None else value
