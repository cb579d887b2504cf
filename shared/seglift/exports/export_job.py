"""An export run as a job (seglift.storage.job_repository): the export function's side.

The API answers ``POST /segments/{id}/exports`` at once with a queued job and invokes the
export function asynchronously; this moves the job to running, writes the CSV and records
the download link, or the reason it could not be written in the merchant's words. A crash
is recorded as a failure too (and re-raised, so Lambda's error metric still sees it); the
retry Lambda then makes finds the job final and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from seglift.exports.segment_export import ExportError, ExportResult
from seglift.job_updates import JobUpdates

# How long the download link of a finished export works (the export's presigned URL).
EXPORT_URL_SECONDS = 3600
CRASHED = ("The export stopped because of an error on our side. Start it again; if it "
           "keeps failing, contact support.")


def run_export_job(jobs: JobUpdates, shop: str, job_id: str, export: Callable[[], ExportResult],
                   clock: Callable[[], datetime]) -> ExportResult | None:
    """Run ``export`` under the job; its result, or None when the job was already final
    (a retried invocation). ExportError (recorded as the job's failure) is re-raised for
    the caller's refusal reply; so is anything else, after it is recorded."""
    if not jobs.start(shop, job_id, progress="Writing the CSV file", now=clock()):
        return None
    try:
        result = export()
    except ExportError as refused:
        jobs.fail(shop, job_id, code="export_refused", message=str(refused), now=clock())
        raise
    except Exception:
        jobs.fail(shop, job_id, code="export_failed", message=CRASHED, now=clock())
        raise
    finished = clock()
    rows = f"{result.rows:,} row{'s' if result.rows != 1 else ''}"
    jobs.succeed(shop, job_id, {
        "url": result.url, "rows": result.rows,
        "expires_at": (finished + timedelta(seconds=EXPORT_URL_SECONDS)).isoformat()},
        progress=f"Done: {rows} written", now=finished)
    return result
