"""Keyset pagination (docs/api.md, "Pagination"): a page is the rows after the cursor in the
list's order, read from an index, with no COUNT and no OFFSET, so a page costs the same at
1,000 participants as at 100,000. ``page_size`` is 1 to 500 (default 50); ``next`` is the
next page's URL, null on the last.

The cursor is opaque to clients: the last row's (order value, id), base64-encoded JSON.
"""

import base64
import binascii
import datetime
import json

from django.db.models import Q
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def _parse(kind: str, value):
    if kind == "date":
        return datetime.date.fromisoformat(value)
    if kind == "datetime":
        parsed = datetime.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed
    if kind == "str":
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError("not a string")
        return value
    raise ValueError(kind)


class KeysetPagination(BasePagination):
    """Pages in the order (``view.cursor_field``, id), ``cursor_field`` being a field or an
    annotation of kind ``view.cursor_kind`` ("date", "datetime" or "str"); None: by id."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self._page_size(request)
        field = getattr(view, "cursor_field", None)
        kind = getattr(view, "cursor_kind", "str")
        order = [field, "id"] if field else ["id"]
        queryset = queryset.order_by(*order)
        cursor = request.query_params.get("cursor")
        if cursor:
            value, last_id = self._decode(cursor, kind if field else None)
            if field:
                queryset = queryset.filter(
                    Q(**{f"{field}__gt": value}) | Q(**{field: value, "id__gt": last_id})
                )
            else:
                queryset = queryset.filter(id__gt=last_id)
        rows = list(queryset[: self.page_size + 1])
        self.has_next = len(rows) > self.page_size
        rows = rows[: self.page_size]
        self.next_cursor = None
        if self.has_next:
            last = rows[-1]
            value = getattr(last, field) if field else None
            if isinstance(value, datetime.date):
                value = value.isoformat()
            self.next_cursor = self._encode(value, last.id)
        return rows

    def _page_size(self, request) -> int:
        raw = request.query_params.get("page_size")
        if raw is None:
            return DEFAULT_PAGE_SIZE
        if (
            not (raw.isascii() and raw.isdigit() and len(raw) <= 4)
            or not 1 <= int(raw) <= MAX_PAGE_SIZE
        ):
            raise exceptions.ValidationError(
                {"page_size": f"A whole number from 1 to {MAX_PAGE_SIZE}."}
            )
        return int(raw)

    @staticmethod
    def _encode(value, last_id: int) -> str:
        return base64.urlsafe_b64encode(json.dumps([value, last_id]).encode()).decode()

    @staticmethod
    def _decode(cursor: str, kind: str | None):
        try:
            value, last_id = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
            if not isinstance(last_id, int) or isinstance(last_id, bool):
                raise ValueError("id")
            if not -(2**63) <= last_id < 2**63:
                raise ValueError("id out of range")
            return (_parse(kind, value) if kind else None), last_id
        except (ValueError, TypeError, UnicodeError, binascii.Error, json.JSONDecodeError):
            raise exceptions.ValidationError(
                {"cursor": "Not a cursor of this list: use the “next” URL of a page."}
            ) from None

    def get_paginated_response(self, data):
        next_url = None
        if self.next_cursor:
            next_url = replace_query_param(
                self.request.build_absolute_uri(), "cursor", self.next_cursor
            )
        return Response({"next": next_url, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page's URL; null on the last page.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Where the page starts: the cursor of the previous page's "
                "“next” URL.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"Rows a page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
