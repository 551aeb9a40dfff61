"""What every MLflow route shares: MLflow's error format, its protobuf JSON, and how its
requests write lists, tags and pages."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

Body = dict[str, Any]


class MlflowError(Exception):
    """An error in MLflow's own format: its `error_code` and an HTTP status."""

    STATUS = {"RESOURCE_DOES_NOT_EXIST": 404, "RESOURCE_ALREADY_EXISTS": 400, "INVALID_PARAMETER_VALUE": 400,
              "ENDPOINT_NOT_FOUND": 404, "NOT_IMPLEMENTED": 501, "UNAUTHENTICATED": 401, "INTERNAL_ERROR": 500}

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error_code": self.code, "message": self.message},
                            status_code=self.STATUS.get(self.code, 400))


def to_json(message: Any) -> Body:
    """A response protobuf as the JSON MLflow's server sends."""
    from mlflow.utils.proto_json_utils import message_to_json

    return dict(json.loads(message_to_json(message)))


def as_list(raw: Any) -> list[str]:
    """A list field as a POST body or a GET query (one value or several) gives it."""
    if raw is None:
        return []
    return [str(x) for x in raw] if isinstance(raw, list) else [str(raw)]


def tags_of(body: Body) -> dict[str, str]:
    return {str(t["key"]): str(t.get("value", "")) for t in body.get("tags") or []}


def page(found: list[Any], body: Body, utils: Any, default_order: list[str], default_max: int,
         limit: int = 50_000) -> tuple[list[Any], str | None]:
    """MLflow's own filter, order and paging (`utils`: one of its Search*Utils) over entities."""
    from mlflow.utils.search_utils import SearchUtils

    found = utils.filter(found, body.get("filter") or "")
    found = utils.sort(found, as_list(body.get("order_by")) or default_order)
    chosen, token = SearchUtils.paginate(found, body.get("page_token"),
                                         min(int(body.get("max_results") or default_max), limit))
    return chosen, token or None
