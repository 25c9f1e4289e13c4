"""`Idempotency-Key` on POST /api/tasks: one key, one task, whatever the retries."""

import hashlib
import json
import re

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .exceptions import IdempotencyKeyReused
from .models import IdempotencyKey

KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


def fingerprint(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class IdempotentCreateMixin:
    """A viewset's `create()` run once per (user, `Idempotency-Key`); retries replay its answer.

    The key's row is inserted in the same transaction as the object: a concurrent duplicate
    waits on the unique index, then finds the committed row and replays it. A request that
    fails validation leaves no row behind, so its key can be used again. A replay lists its
    fields in `replay_field_order`, as the original answer did.
    """

    replay_field_order = ()

    def create(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return super().create(request, *args, **kwargs)
        if not KEY_PATTERN.fullmatch(key):
            raise ValidationError({"Idempotency-Key": ["Use 1 to 255 visible ASCII characters."]})
        user_id, request_hash = request.user.id, fingerprint(request.data)
        IdempotencyKey.objects.expired().filter(user_id=user_id, key=key).delete()
        with transaction.atomic():
            record = claim(user_id, key, request_hash)
            if record is None:
                return replay(
                    IdempotencyKey.objects.get(user_id=user_id, key=key), request_hash, self.replay_field_order
                )
            response = super().create(request, *args, **kwargs)
            record.response_status, record.response_body = response.status_code, response.data
            record.location = response.get("Location", "")
            record.save(update_fields=["response_status", "response_body", "location"])
            return response


def claim(user_id, key, request_hash):
    """The new row for this key, or None when another request holds it (waiting for it to commit)."""
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                user_id=user_id, key=key, request_hash=request_hash, response_status=0, response_body={}
            )
    except IntegrityError:
        return None


def replay(record, request_hash, field_order):
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused()
    headers = {"Idempotent-Replayed": "true", **({"Location": record.location} if record.location else {})}
    return Response(in_order(record.response_body, field_order), status=record.response_status, headers=headers)


def in_order(body, field_order):
    """The stored answer with its fields in the original order (PostgreSQL's jsonb sorts keys)."""
    position = {name: index for index, name in enumerate(field_order)}
    return dict(sorted(body.items(), key=lambda item: position.get(item[0], len(position))))
