"""Measurements (what a fixed list of customers bought in a period), comparisons and
experiments (random groups, one measurement each, with statistics against the control).

Results are computed by the measurements function (it reads the Parquet lake): a new
measurement answers with ``status: pending`` and its results appear within moments,
then are recomputed daily until the period is over (``status: final``).
"""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import ApiError, BadRequest, NotFound
from api.fair_use import spend
from api.job_models import JobOut
from api.models import Money
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_page_token, encode_page_token
from api.ports import ApiContext, MeasurementDeps
from api.presenters import job_out
from api.routes.measurement_models import (
    CompareRequest,
    ComparisonOut,
    ExperimentCreate,
    ExperimentGroupOut,
    ExperimentOut,
    GoalIn,
    GoalOut,
    GroupComparison,
    MeasurementCreate,
    MeasurementOut,
    MeasurementPage,
    MeasurementResultsOut,
    PeriodIn,
    PeriodOut,
    ProductLine,
    SeriesPoint,
)
from api.routes.responses import BODY_ERRORS, JOB_LOCATION, responses
from api.routes.segments import get_segment_or_404, shop_today
from api.segment_editor import job_store
from seglift.measurements.experiment_job import EXPERIMENT_JOB, QUEUED
from seglift.measurements.report import experiment_report
from seglift.measurements.service import (
    ExperimentRequest,
    MeasurementRequest,
    check_experiment,
    create_measurement,
    record_experiment,
)
from seglift.measurements.spec import Goal, MeasurementError, Period
from seglift.storage.measurement_repository import new_experiment_id, new_measurement_id

router = APIGatewayRouter()

CENTS = Decimal("0.01")
NOT_STARTED = "The experiment could not be started: try again in a minute."
RecordId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _deps(ctx: ApiContext) -> MeasurementDeps:
    if ctx.measurements is None:
        raise ApiError("measurements are not configured for this deployment",
                       code="not_configured", status=500)
    return ctx.measurements


def _shop_settings(ctx: ApiContext, shop: str) -> tuple[str, str]:
    record = ctx.shops.get(shop)
    return (getattr(record, "timezone", None) or "UTC",
            getattr(record, "currency", None) or "USD")


def _bad(error: MeasurementError) -> BadRequest:
    return BadRequest(error.message, code="invalid_measurement", field=error.field)


def _period(period: PeriodIn, today: date) -> Period:
    try:
        checked = Period(period.start, period.end)
        checked.require_starts_soon(today)
        return checked
    except MeasurementError as error:
        raise _bad(error) from error


def _goal(goal: GoalIn | None) -> Goal:
    try:
        return Goal.from_document(goal.model_dump() if goal else None)
    except MeasurementError as error:
        raise _bad(error) from error


def _money(amount: Any, currency: str) -> Money:
    return Money(amount=format(Decimal(str(amount)), "f"), currency=currency)


def results_out(results: dict[str, Any] | None, currency: str, *, series: bool,
                products: bool) -> MeasurementResultsOut | None:
    if not results:
        return None

    def money(name: str) -> Money | None:
        value = results.get(name)
        return None if value is None else _money(value, currency)

    return MeasurementResultsOut(
        computed_for=results["computed_for"], as_of=results["as_of"], final=results["final"],
        customers=results["customers"], converted=results["converted"], cvr=results["cvr"],
        orders=results["orders"], revenue=_money(results["revenue"], currency),
        aov=money("aov"), revenue_per_customer=money("revenue_per_customer"),
        series=[SeriesPoint.model_validate({**p, "revenue": _money(p["revenue"], currency)})
                for p in results.get("series", [])] if series else None,
        products=[ProductLine.model_validate({**p, "sales": _money(p["sales"], currency)})
                  for p in results.get("products", [])] if products else None,
    )


def goal_out(document: dict[str, Any] | None, currency: str) -> GoalOut:
    goal = Goal.from_document(document)
    return GoalOut(kind=goal.kind, product_ids=[str(p) for p in goal.product_ids],
                   min_order_value=None if goal.min_order_value is None
                   else _money(goal.min_order_value, currency))


def measurement_out(record: Any, currency: str, *, series: bool = False,
                    products: bool = False) -> MeasurementOut:
    return MeasurementOut(
        id=record.record_id, name=record.name, notes=record.notes, source=record.source,
        segment_id=record.segment_id, customers=int(record.customer_count),
        members_as_of=getattr(record, "members_as_of", None),
        period=PeriodOut(start=record.period_start, end=record.period_end),
        timezone=record.timezone or "UTC", goal=goal_out(record.goal, currency),
        status=record.status, experiment_id=record.experiment_id, group=record.group_label,
        created_at=record.created_at, updated_at=record.updated_at,
        last_error=record.last_error,
        results=results_out(record.results, currency, series=series, products=products),
    )


def _measurement_or_404(deps: MeasurementDeps, shop: str, measurement_id: str) -> Any:
    record = deps.store.get(shop, measurement_id)
    if record is None:
        raise NotFound(
            "This measurement does not exist in your store (it may have been deleted).",
            code="measurement_not_found", field="measurement_id",
        )
    return record


@router.post(
    "/measurements",
    summary="Measure what a segment's customers (frozen now) buy during a period",
    tags=["measurements"], status_code=201, security=SESSION_TOKEN_SECURITY,
    responses=responses(201, "The measurement (results follow: status pending)",
                        *BODY_ERRORS, 404),
)
def post_measurement(ctx: Ctx, shop: Shop, body: MeasurementCreate) -> MeasurementOut:
    deps = _deps(ctx)
    period, goal = _period(body.period, ctx.clock().date()), _goal(body.goal)
    segment = get_segment_or_404(ctx, shop, body.segment_id)
    timezone, currency = _shop_settings(ctx, shop)
    try:
        record = create_measurement(
            shop, MeasurementRequest(body.name, segment, period, goal, body.notes),
            timezone=timezone, store=deps.store, lists=deps.lists, members=deps.members,
            recompute=deps.recompute, new_id=new_measurement_id,
        )
    except MeasurementError as error:
        raise _bad(error) from error
    return measurement_out(record, currency)


@router.get(
    "/measurements",
    summary="The shop's measurements with their latest results",
    tags=["measurements"], security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "A page of measurements", 400),
)
def list_measurements(
    ctx: Ctx, shop: Shop,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=512)] = None,
) -> MeasurementPage:
    deps = _deps(ctx)
    page = deps.store.list_page(shop, limit=limit, after=decode_page_token(next_token))
    _, currency = _shop_settings(ctx, shop)
    return MeasurementPage(items=[measurement_out(r, currency) for r in page.items],
                           next_token=encode_page_token(page.last_key))


@router.get(
    "/measurements/<measurement_id>",
    summary="One measurement with its daily series and product breakdown",
    tags=["measurements"], security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The measurement", 400, 404),
)
def get_measurement(ctx: Ctx, shop: Shop, measurement_id: RecordId) -> MeasurementOut:
    record = _measurement_or_404(_deps(ctx), shop, measurement_id)
    _, currency = _shop_settings(ctx, shop)
    return measurement_out(record, currency, series=True, products=True)


@router.post(
    "/measurements/compare",
    summary="Several measurements side by side, with what converted customers bought",
    tags=["measurements"], security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The measurements in the order asked", *BODY_ERRORS, 404),
)
def compare_measurements(ctx: Ctx, shop: Shop, body: CompareRequest) -> ComparisonOut:
    deps = _deps(ctx)
    if len(set(body.ids)) != len(body.ids):
        raise BadRequest("ids lists a measurement twice: give each once", field="ids")
    _, currency = _shop_settings(ctx, shop)
    records = [_measurement_or_404(deps, shop, i) for i in body.ids]
    return ComparisonOut(items=[measurement_out(r, currency, products=True) for r in records])


@router.post(
    "/experiments",
    summary="Split a segment at random into groups (optionally stratified, with a holdout), "
            "one measurement and one list segment per group",
    description="Checks the request at once (400/404), then answers 202 with a job; follow "
                "it with GET /jobs/{job_id} (the Location header) until it has succeeded "
                "(its result is the experiment with its groups) or failed (its error says "
                "why, e.g. too few customers on the day before a past period).",
    tags=["experiments"], status_code=202, security=SESSION_TOKEN_SECURITY,
    responses=responses(202, "The experiment's job (queued)", *BODY_ERRORS, 404, 429,
                        location=JOB_LOCATION),
)
def post_experiment(ctx: Ctx, shop: Shop, body: ExperimentCreate) -> Response[JobOut]:
    """A job, not a synchronous call: at 1,000,000 customers the split reads a million
    member ids and their strata (the features of a million customers) and writes a list
    and a list segment per group, which could outlast API Gateway's 29 s, and asking the
    measurements function for the strata synchronously meant sending it every member id
    (about 14 MB, past Lambda's 6 MB synchronous payload). What can be known without
    reading the members is checked here first (``check_experiment``), so those mistakes
    still answer 400/404 at once; the experiment is recorded as ``creating`` and the
    measurements function is invoked asynchronously with its id and the job's
    (``seglift.measurements.experiment_job``)."""
    deps = _deps(ctx)
    period, goal = _period(body.period, ctx.clock().date()), _goal(body.goal)
    segment = get_segment_or_404(ctx, shop, body.segment_id)
    timezone, _ = _shop_settings(ctx, shop)
    seed = body.seed if body.seed is not None else secrets.randbelow(2**31)
    request = ExperimentRequest(body.name, segment, period, goal, body.groups, body.holdout,
                                seed, body.stratify_by, body.notes,
                                tuple(body.group_names) if body.group_names else None)
    try:
        spec = check_experiment(shop, request, members=deps.members,
                                list_day=shop_today(ctx, shop), timezone=timezone)
    except MeasurementError as error:
        raise _bad(error) from error
    spend(ctx, shop, "experiment")  # a refused request costs nothing of the budget
    jobs = job_store(ctx)
    job = jobs.create(shop, EXPERIMENT_JOB, progress=QUEUED, now=ctx.clock())
    experiment_id = new_experiment_id()
    try:
        record_experiment(shop, request, spec, store=deps.store, experiment_id=experiment_id,
                          job_id=job.job_id)
        deps.experiments.start(shop, experiment_id, job.job_id)
    except Exception:
        # Never leave a job queued for ever: it is failed, and the error answers (500).
        jobs.fail(shop, job.job_id, code="not_started", message=NOT_STARTED, now=ctx.clock())
        if deps.store.get_experiment(shop, experiment_id) is not None:
            deps.store.fail_experiment(shop, experiment_id, NOT_STARTED)
        raise
    return Response(status_code=202, content_type="application/json", body=job_out(job),
                    headers={"Location": f"/jobs/{job.job_id}"})


@router.get(
    "/experiments/<experiment_id>",
    summary="An experiment's groups and the differences against the control",
    tags=["experiments"], security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The experiment", 400, 404),
)
def get_experiment(ctx: Ctx, shop: Shop, experiment_id: RecordId) -> ExperimentOut:
    found = read_experiment(ctx, shop, experiment_id)
    if found is None:
        raise NotFound(
            "This experiment does not exist in your store (it may have been deleted).",
            code="experiment_not_found",
            field="experiment_id",
        )
    return found


def read_experiment(ctx: ApiContext, shop: str, experiment_id: str) -> ExperimentOut | None:
    """The experiment with its groups' latest results (None: not in this shop)."""
    deps = _deps(ctx)
    experiment = deps.store.get_experiment(shop, experiment_id)
    if experiment is None:
        return None
    records = {g["measurement_id"]: deps.store.get(shop, g["measurement_id"])
               for g in experiment.groups}
    _, currency = _shop_settings(ctx, shop)
    return experiment_out(experiment, records, currency)


def experiment_out(experiment: Any, measurements: dict[str, Any], currency: str
                   ) -> ExperimentOut:
    report = experiment_report(experiment, measurements)
    comparisons = []
    for entry in report["comparisons"]:
        incremental = entry.get("incremental_revenue")
        if incremental is not None:
            incremental = {k: None if v is None else _money(Decimal(str(v)).quantize(CENTS),
                                                            currency)
                           for k, v in incremental.items()}
        comparisons.append(GroupComparison(**{**entry, "incremental_revenue": incremental}))
    groups = []
    for group in experiment.groups:
        record = measurements.get(group["measurement_id"])
        groups.append(ExperimentGroupOut(
            label=group["label"], name=group.get("name"), holdout=bool(group.get("holdout")),
            measurement_id=group["measurement_id"], segment_id=group.get("segment_id"),
            customers=group["customers"],
            strata=group.get("strata") or {},
            results=results_out(getattr(record, "results", None), currency, series=False,
                                products=False),
        ))
    return ExperimentOut(
        id=experiment.record_id, name=experiment.name, segment_id=experiment.segment_id,
        seed=int(experiment.seed), stratify_by=experiment.stratify_by,
        holdout=bool(experiment.holdout),
        period=PeriodOut(start=date.fromisoformat(experiment.period_start),
                         end=date.fromisoformat(experiment.period_end)),
        goal=goal_out(experiment.goal, currency), created_at=experiment.created_at,
        status=getattr(experiment, "status", None) or "ready",
        job_id=getattr(experiment, "job_id", None), error=getattr(experiment, "error", None),
        groups=groups, control=report["control"], comparisons=comparisons,
    )
