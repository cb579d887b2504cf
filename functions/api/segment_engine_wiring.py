"""The production adapters of the segment editor's ports: the segments function (for what
needs pyarrow) and the bucket's upload area. Only this module and ``api.wiring`` touch
boto3 for them; the routes see ``api.ports.SegmentEngine`` and ``api.ports.UploadStore``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from api.ports import EngineRejected, PresignedUpload
from seglift import invocation
from seglift.config import ConfigurationError
from seglift.keys import upload_key

# The bucket's lifecycle rule expires objects carrying this tag after a week.


class LambdaSegmentEngine:
    """SegmentEngine over the segments function (it has pyarrow; the API has not).

    Questions the editor waits for (preview, explain, the catalogue) are synchronous
    invocations; making a list and a backfill are started asynchronously (an Event
    invocation) as jobs the dashboard follows, since both can outlast API Gateway's 29 s
    at a large shop. Requests and replies are ``seglift.invocation``'s envelope; a
    refusal or a crash comes back as ``EngineRejected`` carrying its ``errorType`` (the
    exception's class) and ``errorMessage``.
    """

    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def _name(self) -> str:
        if not self._function:
            raise ConfigurationError(
                "missing environment variable SEGMENTS_FUNCTION_NAME (segment editor): "
                "set it in template.yaml"
            )
        return self._function

    @staticmethod
    def _request(action: str, shop: str, run_date: date,
                 fields: dict[str, Any]) -> invocation.DayRequest:
        return invocation.DayRequest.model_validate(
            {**fields, "action": action, "shop": shop, "run_date": run_date})

    def _call(self, action: str, shop: str, run_date: date, **fields: Any) -> dict[str, Any]:
        try:
            return invocation.invoke(self._lambda, self._name(),
                                     self._request(action, shop, run_date, fields))
        except (invocation.FunctionRefused, invocation.FunctionFailed) as error:
            raise EngineRejected(error.error.error_type, error.error.error_message) from error

    def preview(self, shop: str, *, run_date: date, condition: dict[str, Any],
                sample_size: int, if_ready: bool = False) -> dict[str, Any]:
        return self._call("preview", shop, run_date, condition=condition,
                          sample_size=sample_size, if_ready=if_ready)

    def explain(self, shop: str, *, run_date: date, condition: dict[str, Any],
                customer_id: int, segment_id: str | None, if_ready: bool = False
                ) -> dict[str, Any]:
        return self._call("explain", shop, run_date, condition=condition,
                          customer_id=customer_id, segment_id=segment_id, if_ready=if_ready)

    def start_editor_job(self, shop: str, *, action: str, run_date: date, job_id: str,
                         fields: dict[str, Any]) -> None:
        invocation.invoke_async(self._lambda, self._name(), self._request(
            action, shop, run_date, {**fields, "job_id": job_id}))

    def create_list(self, shop: str, *, run_date: date, name: str, description: str | None,
                    source: dict[str, Any]) -> dict[str, Any]:
        return self._call("create_list", shop, run_date, name=name, description=description,
                          source=source)

    def start_list(self, shop: str, *, run_date: date, name: str, description: str | None,
                   source: dict[str, Any], job_id: str) -> None:
        invocation.invoke_async(self._lambda, self._name(), self._request(
            "create_list", shop, run_date, {"name": name, "description": description,
                                            "source": source, "job_id": job_id}))

    def catalog(self, shop: str, *, run_date: date) -> dict[str, Any]:
        return self._call("catalog", shop, run_date)

    def predictions(self, shop: str, *, run_date: date, sort: str, descending: bool,
                    offset: int, limit: int, computed: bool = False) -> dict[str, Any]:
        return self._call("predictions", shop, run_date, sort=sort, descending=descending,
                          offset=offset, limit=limit, computed=computed)

    def start_predictions(self, shop: str, *, run_date: date, job_id: str) -> None:
        invocation.invoke_async(self._lambda, self._name(), self._request(
            "predictions", shop, run_date, {"job_id": job_id}))

    def start_backfill(self, shop: str, *, run_date: date, segment_id: str, days: int,
                       job_id: str | None = None) -> None:
        fields: dict[str, Any] = {"segment_id": segment_id, "days": days}
        if job_id is not None:
            fields["job_id"] = job_id
        invocation.invoke_async(self._lambda, self._name(), self._request(
            "backfill", shop, run_date, fields))


# A POST form carries object tags as XML (a PUT would take ``retention=short``); the
# bucket's lifecycle rule deletes objects tagged retention=short after a few days.
SHORT_RETENTION_TAGGING_XML = (
    "<Tagging><TagSet><Tag><Key>retention</Key><Value>short</Value></Tag></TagSet></Tagging>"
)


class S3Uploads:
    """UploadStore over the data bucket: ``seglift.keys.upload_key`` under the shop's own
    prefix (so one shop can never name another's file), tagged for short retention."""

    def __init__(self, s3_client: Callable[[], Any], bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def presign_post(self, shop: str, upload_id: str, expires_in: int, max_bytes: int
                     ) -> PresignedUpload:
        """A SigV4 POST policy: S3 itself refuses a file over ``max_bytes`` or a form
        whose key or tag differs (so the size limit needs no trust in the browser)."""
        posted = self._s3().generate_presigned_post(
            self._bucket,
            upload_key(shop, upload_id),
            Fields={"tagging": SHORT_RETENTION_TAGGING_XML},
            Conditions=[{"tagging": SHORT_RETENTION_TAGGING_XML},
                        ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return PresignedUpload(url=posted["url"], fields=dict(posted["fields"]))

    def exists(self, shop: str, upload_id: str) -> bool:
        try:
            self._s3().head_object(Bucket=self._bucket, Key=upload_key(shop, upload_id))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
