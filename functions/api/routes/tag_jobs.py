"""Tag jobs: tag (or untag) every member of a segment in Shopify, and follow progress.

Before starting one, GET /segments/<id>/tag-jobs/preview says how many members it would
change, reading their current tags from Shopify: exactly up to 1,000 members; above that
exactly from the tagged customers' side when at most 5,000 carry the tag (a new tag has
none); only when both are many, scaled up from an evenly spread sample of 1,000, flagged
``exact: false`` (``seglift.tagging.jobs``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop, User
from api.errors import ApiError, BadRequest, Conflict, NotFound
from api.models import TagJobCreate, TagJobOut, TagJobPage, TagJobPreviewOut
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_page_token, encode_page_token
from api.presenters import tag_job_out
from api.routes.responses import BODY_ERRORS, responses
from api.routes.segments import SegmentId, get_segment_or_404
from seglift.tagging.validation import TAG_PATTERN, TagError, validate_tag

router = APIGatewayRouter()

JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# The pattern documents Shopify's tag rules; validate_tag enforces them in words.
TagQuery = Annotated[str, Query(min_length=1, max_length=255,
                                json_schema_extra={"pattern": TAG_PATTERN})]


@router.post(
    "/segments/<segment_id>/tag-jobs",
    summary="Add or remove a Shopify customer tag on every member of the segment",
    tags=["tag-jobs"],
    status_code=202,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(202, "The queued tag job", *BODY_ERRORS, 404, 409,
                        location="/tag-jobs/{job_id}: the tag job, to follow until it is "
                                 "done"),
)
def start_tag_job(
    ctx: Ctx, shop: Shop, user: User, segment_id: SegmentId, body: TagJobCreate
) -> Response[TagJobOut]:
    try:
        tag = validate_tag(body.tag)
    except TagError as error:
        raise BadRequest(str(error), code="invalid_tag", field="tag") from error
    segment = get_segment_or_404(ctx, shop, segment_id)
    if body.keep_in_sync and (body.action != "add" or segment.kind != "condition"):
        raise BadRequest(
            "Keeping a tag in sync works only when adding a tag to a segment defined by a "
            "condition: a list's members never change, and a removed tag cannot be kept",
            code="invalid_keep_in_sync",
            field="keep_in_sync",
        )
    record = ctx.shops.get(shop)
    if record is None or not record.installed:
        raise Conflict(
            "the app is uninstalled from this shop: reinstall it to tag customers",
            code="shop_uninstalled",
        )
    if not getattr(segment, "last_evaluated_on", None):
        raise Conflict(
            "the segment has not been evaluated yet, so it has no members to tag: "
            "wait for the next daily run or sync now from the Sync page",
            code="segment_not_evaluated",
        )
    job = ctx.tag_jobs.start(shop, segment, tag=tag, action=body.action, requested_by=user)
    if body.keep_in_sync:
        ctx.segments.set_keep_in_sync_tag(shop, segment_id, tag)
    return Response(status_code=202, content_type="application/json", body=tag_job_out(job),
                    headers={"Location": f"/tag-jobs/{job.job_id}"})


@router.get(
    "/segments/<segment_id>/tag-jobs/preview",
    summary="How many members a tag job would tag or untag, read from Shopify now",
    tags=["tag-jobs"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "What the job would change (nothing is changed)", 400, 404, 409,
                        502, 503),
)
def preview_tag_job(
    ctx: Ctx, shop: Shop, segment_id: SegmentId, tag: TagQuery,
    action: Annotated[Literal["add", "remove"], Query()] = "add",
) -> TagJobPreviewOut:
    """Synchronous and bounded: no other function is called; the members' current tags
    are read from Shopify for at most a fixed sample of members (the counts are scaled up
    beyond it: ``exact`` says so), each request with an 8 s timeout and 2 attempts."""
    try:
        clean_tag = validate_tag(tag)
    except TagError as error:
        raise BadRequest(str(error), code="invalid_tag", field="tag") from error
    segment = get_segment_or_404(ctx, shop, segment_id)
    if ctx.tag_previews is None:
        raise ApiError("tag previews are not configured on this deployment",
                       code="internal_error", status=500)
    preview = ctx.tag_previews.preview(shop, segment, tag=clean_tag, action=action)
    return TagJobPreviewOut(
        segment_id=segment_id, tag=clean_tag, action=action, members=preview.members,
        would_change=preview.would_change, already_done=preview.already_done,
        would_fail=preview.would_fail, exact=preview.exact, sampled=preview.sampled)


@router.delete(
    "/segments/<segment_id>/tag-sync",
    summary="Stop keeping the segment's Shopify tag in sync (tags already set stay)",
    tags=["tag-jobs"],
    status_code=204,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(204, "No longer kept in sync", 400, 404),
)
def stop_tag_sync(ctx: Ctx, shop: Shop, segment_id: SegmentId) -> Response[str]:
    get_segment_or_404(ctx, shop, segment_id)
    ctx.segments.set_keep_in_sync_tag(shop, segment_id, None)
    return Response(status_code=204, body="")


@router.get(
    "/tag-jobs/<job_id>",
    summary="One tag job and its progress",
    tags=["tag-jobs"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The tag job", 400, 404),
)
def get_tag_job(ctx: Ctx, shop: Shop, job_id: JobId) -> TagJobOut:
    job = ctx.tag_jobs.get(shop, job_id)
    if job is None:
        raise NotFound(
            "This tag job does not exist in your store.",
            code="tag_job_not_found",
            field="job_id",
        )
    return tag_job_out(job)


@router.get(
    "/tag-jobs",
    summary="The shop's tag jobs, newest first",
    tags=["tag-jobs"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "A page of tag jobs", 400),
)
def list_tag_jobs(
    ctx: Ctx,
    shop: Shop,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=512)] = None,
) -> TagJobPage:
    page = ctx.tag_jobs.list_page(shop, limit=limit, after=decode_page_token(next_token))
    return TagJobPage(
        items=[tag_job_out(j) for j in page.items], next_token=encode_page_token(page.last_key)
    )
