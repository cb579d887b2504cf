"""In-memory stand-ins for the segment editor's ports (api.ports.SegmentEngine, UploadStore).

The engine answers what a test tells it to and records every request, so route tests see
exactly what the API would send the segments function. Refusals travel as
``EngineRejected`` with the segments function's exception class name, as over Lambda.
CSV uploads are parsed with the real (pyarrow-free) ``seglift.segments.lists`` against a
customer directory the test sets.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.ports import EngineRejected
from seglift.segments.lists import CustomerDirectory, CustomerListError, parse_customer_list_csv
from tests.api.fakes import NOW, FakeSegments


class Refused(Exception):
    """A refusal of the segments function (subclassed by its exception's class name)."""


@dataclass
class FakeSegmentEngine:
    segments: FakeSegments
    preview_result: dict[str, Any] = field(default_factory=dict)
    explain_result: dict[str, Any] = field(default_factory=dict)
    directory: CustomerDirectory = field(
        default_factory=lambda: CustomerDirectory.from_rows([]))
    uploads: FakeUploads | None = None
    members: dict[str, list[int]] = field(default_factory=dict)  # segment id -> members
    refuse: Exception | None = None  # EngineRejected, or a call that timed out/was throttled
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    backfills: list[dict[str, Any]] = field(default_factory=list)
    # What the segments function's ``catalog`` action answers (segments.catalog).
    catalog_result: dict[str, Any] = field(default_factory=lambda: {
        "products": [], "product_types": [], "tags": []})
    # (shop, measurement id) -> the customers it froze (a list made of an experiment group).
    measurement_customers: Any = None
    # The job store lists are made under (started_lists: their job ids, in order).
    jobs: Any = None
    started_lists: list[str] = field(default_factory=list)
    # Previews and explanations: ``cold`` refuses questions asked ``if_ready`` until a job
    # has warmed the (shop, day) (``warm``); ``started_editor_jobs`` records those jobs.
    cold: bool = False
    missing_customers: set[int] = field(default_factory=set)  # explain refuses them
    warm: set[tuple[str, date]] = field(default_factory=set)
    started_editor_jobs: list[tuple[str, str, date, str, dict[str, Any]]] = field(
        default_factory=list)

    # day -> (features, customers) tables the ``predictions`` action pages through with
    # the segments function's own logic (segments.predictions.prediction_page).
    prediction_days: dict[date, tuple[Any, Any]] = field(default_factory=dict)
    # day -> (features, customers) a predictions job computes as of a day no run stored
    # (``start_predictions``), then read (``computed``) from ``computed_days``: the
    # features' model note gives the status, reason and warnings.
    computable_days: dict[date, tuple[Any, Any]] = field(default_factory=dict)
    computed_days: dict[date, tuple[Any, Any]] = field(default_factory=dict)
    started_predictions: list[tuple[str, date, str]] = field(default_factory=list)

    def predictions(self, shop: str, *, run_date: date, sort: str, descending: bool,
                    offset: int, limit: int, computed: bool = False) -> dict[str, Any]:
        from seglift.segments.predictions import model_note
        from segments.predictions import prediction_page

        self._record("predictions", shop=shop, run_date=run_date, sort=sort,
                     descending=descending, offset=offset, limit=limit, computed=computed)
        days = self.computed_days if computed else self.prediction_days
        if run_date not in days:
            raise EngineRejected("PredictionsNotComputed",
                                 f"no predictions were stored for {run_date.isoformat()}")
        features, customers = days[run_date]
        page = {"as_of": run_date.isoformat(), **prediction_page(
            features, customers, sort=sort, descending=descending, offset=offset,
            limit=limit)}
        if computed:
            note = model_note(features) or {}
            page.update(status="fitted" if note.get("fitted") else "insufficient_data",
                        reason=note.get("reason"), warnings=note.get("warnings") or [])
        return page

    def _record(self, action: str, **fields: Any) -> None:
        self.calls.append((action, fields))
        if self.refuse is not None:
            raise self.refuse

    def preview(self, shop: str, *, run_date: date, condition: dict[str, Any],
                sample_size: int, if_ready: bool = False) -> dict[str, Any]:
        self._record("preview", shop=shop, run_date=run_date, condition=condition,
                     sample_size=sample_size, if_ready=if_ready)
        self._ready(shop, run_date, if_ready)
        return {"as_of": run_date.isoformat(), **self.preview_result}

    def explain(self, shop: str, *, run_date: date, condition: dict[str, Any],
                customer_id: int, segment_id: str | None, if_ready: bool = False
                ) -> dict[str, Any]:
        self._record("explain", shop=shop, run_date=run_date, condition=condition,
                     customer_id=customer_id, segment_id=segment_id, if_ready=if_ready)
        self._ready(shop, run_date, if_ready)
        if customer_id in self.missing_customers:
            raise EngineRejected("CustomerNotFound", f"customer {customer_id} is not a "
                                 "customer of this shop: use a numeric Shopify customer id")
        return {"customer_id": customer_id, "as_of": run_date.isoformat(),
                **self.explain_result}

    def _ready(self, shop: str, run_date: date, if_ready: bool) -> None:
        """As the segments function: asked ``if_ready`` for a day whose features its warm
        container does not hold (``cold``, and not warmed by a job yet), it refuses."""
        if if_ready and self.cold and (shop, run_date) not in self.warm:
            raise EngineRejected("FeaturesNotReady", "the features are being computed")

    def start_editor_job(self, shop: str, *, action: str, run_date: date, job_id: str,
                         fields: dict[str, Any]) -> None:
        """As the segments function's asynchronous call, at once when ``jobs`` is set: the
        preview or explanation answered under the job by ``segments.editor_job`` (with
        what the handler echoes), its container warm for the day from then on."""
        from segments.editor_job import run_action_job

        self.started_editor_jobs.append((action, shop, run_date, job_id, fields))
        if self.jobs is None:
            return

        def answer() -> dict[str, Any]:
            self.warm.add((shop, run_date))
            try:
                if action == "preview":
                    return {**self.preview(shop, run_date=run_date, **fields),
                            "condition": fields["condition"]}
                return {**self.explain(shop, run_date=run_date, **fields),
                        "segment_id": fields["segment_id"]}
            except EngineRejected as error:  # raised again as the function's own class
                raise type(error.error_type, (Refused,), {})(error.message) from error

        with contextlib.suppress(Refused):
            run_action_job(self.jobs, shop, job_id, action, answer, (Refused,), lambda: NOW)

    def create_list(self, shop: str, *, run_date: date, name: str, description: str | None,
                    source: dict[str, Any]) -> dict[str, Any]:
        self._record("create_list", shop=shop, run_date=run_date, name=name, source=source)
        report: dict[str, Any] = {}
        if "upload_key" in source:
            assert self.uploads is not None
            try:
                parsed = parse_customer_list_csv(self.uploads.by_key[source["upload_key"]],
                                                 self.directory)
            except CustomerListError as error:
                raise EngineRejected("CustomerListError", str(error)) from error
            ids = parsed.matched_ids
            report = {**parsed.summary(),
                      "unmatched_rows": [vars(r) for r in parsed.unmatched],
                      "malformed_rows": [vars(r) for r in parsed.malformed]}
        elif "snapshot_of" in source:
            ids = self.members[source["snapshot_of"]]
        elif "measurement_id" in source:
            assert self.measurement_customers is not None
            ids = self.measurement_customers(shop, source["measurement_id"])
        elif "set_operation" in source:
            ids = sorted(set.intersection(*(set(self.members[s])
                                            for s in source["segment_ids"])))
        else:
            ids = self.members.get("condition", [])
        record = self.segments.create(
            shop, name=name, condition=None, description=description, kind="list",
            member_count=len(ids), last_evaluated_on=run_date.isoformat())
        return {"segment_id": record.segment_id, "member_count": len(ids), **report}

    def start_list(self, shop: str, *, run_date: date, name: str, description: str | None,
                   source: dict[str, Any], job_id: str) -> None:
        """As the segments function does with the asynchronous call, at once: the list
        made under the job by ``segments.editor_job``, a refusal recorded by its class
        name (``jobs``: the store the API's context holds; None leaves the job queued,
        as an invocation not run yet)."""
        from segments.editor_job import run_action_job

        self.started_lists.append(job_id)
        if self.jobs is None:
            return

        def answer() -> dict[str, Any]:
            try:
                return self.create_list(shop, run_date=run_date, name=name,
                                        description=description, source=source)
            except EngineRejected as error:  # raised again as the function's own class
                raise type(error.error_type, (Refused,), {})(error.message) from error

        # The segments function answers a refusal as such (no retry): nothing raised here.
        with contextlib.suppress(Refused):
            run_action_job(self.jobs, shop, job_id, "create_list", answer, (Refused,),
                           lambda: NOW)

    def start_predictions(self, shop: str, *, run_date: date, job_id: str) -> None:
        """As the segments function's asynchronous call does, at once when ``jobs`` is
        set: the day's predictions stored (``computable_days`` -> ``computed_days``)
        under the job by ``segments.editor_job``."""
        from segments.editor_job import run_action_job

        self.started_predictions.append((shop, run_date, job_id))
        if self.jobs is None or run_date not in self.computable_days:
            return  # left queued, as an invocation not run yet

        def answer() -> dict[str, Any]:
            features, customers = self.computable_days[run_date]
            self.computed_days[run_date] = (features, customers)
            return {"as_of": run_date.isoformat(), "status": "fitted",
                    "total": features.num_rows}

        run_action_job(self.jobs, shop, job_id, "predictions", answer, (), lambda: NOW)

    def catalog(self, shop: str, *, run_date: date) -> dict[str, Any]:
        self._record("catalog", shop=shop, run_date=run_date)
        return self.catalog_result

    def start_backfill(self, shop: str, *, run_date: date, segment_id: str, days: int,
                       job_id: str | None = None) -> None:
        self.backfills.append({"shop": shop, "run_date": run_date, "segment_id": segment_id,
                               "days": days, **({"job_id": job_id} if job_id else {})})


@dataclass
class FakeUploads:
    """Files by S3 key; ``presign_post`` hands out a fake form naming the key."""

    by_key: dict[str, bytes] = field(default_factory=dict)
    presigned: list[tuple[str, str, int, int]] = field(default_factory=list)

    def presign_post(self, shop: str, upload_id: str, expires_in: int, max_bytes: int) -> Any:
        from api.ports import PresignedUpload
        from seglift.keys import upload_key

        self.presigned.append((shop, upload_id, expires_in, max_bytes))
        return PresignedUpload("https://uploads.example/",
                               {"key": upload_key(shop, upload_id), "policy": "fake"})

    def exists(self, shop: str, upload_id: str) -> bool:
        from seglift.keys import upload_key

        return upload_key(shop, upload_id) in self.by_key

    def put(self, shop: str, upload_id: str, body: bytes) -> None:
        """What the browser's POST of the presigned form does."""
        from seglift.keys import upload_key

        self.by_key[upload_key(shop, upload_id)] = body
