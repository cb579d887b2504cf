"""The day-run as the daily workflow runs it: one invocation per customer shard.

The pipeline state machine runs ``seglift.dayrun.compute``'s phases as its own states:

- ``plan_shards`` (PlanDay): the shard count from the shop's size, the shard
  manifest on S3 that the Distributed Maps' ItemReader reads, and the day's segments
  (``DaySegments``, listed and checked once, read by every later step);
- ``run_shard_features`` (FeatureShards, one per shard): the shard's features, its
  prediction model inputs and its statistics (RFM value counts, the model fit's value
  counts), to S3;
- ``merge_context`` (DayContext): every shard's statistics merged, one shard after
  another, into the shop's RFM boundaries and first order day, and the shop's
  prediction model fitted once on the added counts, to S3;
- ``run_shard_day`` (SegmentShards, one per shard): the shard's memberships of every
  segment and their exact partial figures, and its part of the shop's analytics
  (``seglift.analytics.shop``: cohort and curve sums, CLV predictions and sums, the
  holdout's calibration counts, membership patterns; ``seglift.dayrun.shop_files``), to S3;
- ``reduce_shards`` (ReduceDay): everything merged and stored exactly as the
  in-process day-run stores it (``dayrun.store_day``), answering ``DayRunResult``.

States pass S3 keys and small ids only; every artifact of a run lives under
``dayrun_prefix`` (overwritten by a retried run, so a retry converges), tagged
``retention=dayrun``: ForgetShards deletes them once the day is stored, DayFailed when it
fails (``segments.shard_failures``), and the bucket's lifecycle rule for the tag expires
what a crashed run leaves and the versions deleting leaves in the versioned bucket.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from seglift import keys
from seglift.analytics.clv import CustomerScores
from seglift.analytics.profile import ProfilePartial
from seglift.analytics.shop import shop_shard
from seglift.concurrency import DEFAULT_WORKERS, IoPool
from seglift.dayrun import shop_files
from seglift.dayrun.columns import DAY_COLUMNS, FEATURE_COLUMNS
from seglift.dayrun.compute import (
    DayContext,
    MergedPartials,
    PartialsFold,
    ReducedDay,
    SegmentFailure,
    ShardDay,
    ShardStats,
    Yesterday,
    day_context,
    shard_day,
    shard_features,
    stats_of_table,
    stats_table,
)
from seglift.dayrun.contracts import (
    DayRunResult,
    DaySegments,
    ShardItem,
    ShardPartials,
    ShardPlan,
)
from seglift.dayrun.journeys import EVERYONE, JourneysFold, journeys_table, without_journeys
from seglift.dayrun.member_parts import ShardIndex, decode_part, encode_members, windows
from seglift.dayrun.shards import read_shard_tables, shard_count
from seglift.dayrun.shop_files import ShopShardFile
from seglift.metrics.orders import counted_orders
from seglift.segments.predictions import model_scores
from seglift.segments.snapshots import read_parquet
from seglift.segments.tables import LakeTables
from segments.dayrun import (
    DayStores,
    plan_segments,
    read_day_plan,
    snapshot_or_none,
    store_day,
)
from segments.logic import Segments, Storage

# The object tag of every intermediate file (the lifecycle rule in template.yaml matches it).
INTERMEDIATE_TAGGING = "retention=dayrun"


def dayrun_prefix(shop: str, run_date: date, run: str) -> str:
    """Where one run's intermediate artifacts live."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in run)[-80:] or "run"
    return f"{keys.shop_prefix(shop)}dayrun/{run_date.isoformat()}/{safe}/"


def is_intermediate(key: str) -> bool:
    """Is ``key`` a run's intermediate file (under a ``dayrun_prefix``)? Only those are
    tagged for expiry: what the day keeps (the prediction model, the features file) is not."""
    return "/dayrun/" in key


def _tagging(key: str) -> dict[str, str]:
    return {"Tagging": INTERMEDIATE_TAGGING} if is_intermediate(key) else {}


def _put_parquet(storage: Storage, key: str, table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    storage.s3.put_object(Bucket=storage.bucket, Key=key, Body=sink.getvalue(), **_tagging(key))


# FeatureShards' files that only SegmentShards reads (the shard's features and model
# inputs): Arrow IPC, LZ4-compressed. Parquet's encoding was most of their cost: at
# 1,000,000 customers a shard's features took 120 ms to write and 60 ms to read as
# Parquet, 40 and 14 ms so (the bodies are 3.4x larger: 9 MB).
HANDOFF_COMPRESSION = "lz4"
FEATURES_FILE = "features-1.arrow"
INPUTS_FILE = "model-inputs.arrow"


def _put_arrow(storage: Storage, key: str, table: pa.Table) -> None:
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=HANDOFF_COMPRESSION)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    storage.s3.put_object(Bucket=storage.bucket, Key=key, Body=sink.getvalue().to_pybytes(),
                          **_tagging(key))


def _read_arrow(storage: Storage, key: str) -> pa.Table:
    return pa.ipc.open_stream(pa.BufferReader(_get(storage, key))).read_all()


def _put_json(storage: Storage, key: str, body: str) -> None:
    storage.s3.put_object(Bucket=storage.bucket, Key=key, Body=body.encode(),
                          ContentType="application/json", **_tagging(key))


def _get(storage: Storage, key: str) -> bytes:
    return storage.s3.get_object(Bucket=storage.bucket, Key=key)["Body"].read()


def segments_plan_key(prefix: str) -> str:
    """Where PlanDay writes the day's segments (``DaySegments``) for the later steps."""
    return prefix + "segments-plan.json"


def plan_shards(shop: str, run_date: date, run: str, *, reader: Any, storage: Storage,
                segments: Segments, per_shard: int | None = None) -> ShardPlan:
    """PlanDay: the shard count from the shop's customers, the manifest of shards, and
    the day's segments (``plan_segments``: listed and checked once for every shard)."""
    customers = reader.read_table("customers", columns=["customer_id"]).num_rows
    shards = shard_count(customers) if per_shard is None else shard_count(customers, per_shard)
    prefix = dayrun_prefix(shop, run_date, run)
    _put_json(storage, segments_plan_key(prefix),
              plan_segments(shop, segments).model_dump_json())
    items = [ShardItem(shop=shop, run_date=run_date, prefix=prefix, shard=k, shards=shards)
             for k in range(shards)]
    manifest_key = prefix + "shards.json"
    _put_json(storage, manifest_key, json.dumps([i.model_dump(mode="json") for i in items]))
    return ShardPlan(shop=shop, run_date=run_date, prefix=prefix, shards=shards,
                     customers=customers, bucket=storage.bucket, manifest_key=manifest_key)


def _shard_lake(reader: Any, item: ShardItem, columns: Mapping[str, Sequence[str]]
                ) -> LakeTables:
    """The shard's rows of the lake: only its buckets' files, and of them only the
    ``columns`` the step reads (``seglift.dayrun.columns``)."""
    return read_shard_tables(reader, item.shard, item.shards, columns)


def run_shard_features(item: ShardItem, *, reader: Any, storage: Storage, tz: str = "UTC"
                       ) -> dict[str, Any]:
    """FeatureShards (one shard): its features and statistics, written to S3 (the files
    at once, ``IoPool``)."""
    result = shard_features(_shard_lake(reader, item, FEATURE_COLUMNS), item.run_date, tz)
    base = f"{item.prefix}shard-{item.shard}/"
    with IoPool() as pool:
        uploads = _Uploads(storage, pool)
        uploads.arrow(base + FEATURES_FILE, result.features)
        if result.inputs is not None:  # SegmentShards applies the model to them
            uploads.arrow(base + INPUTS_FILE, result.inputs)
        # What DayContext merges (the RFM and model fit's value counts, the scalars), in
        # one file: one PUT here and one GET there.
        uploads.parquet(base + STATS_FILE, stats_table(result.stats))
        uploads.wait()
    return {"shard": item.shard, "customers": result.stats.customers}


def merge_context(plan: ShardPlan, *, storage: Storage) -> dict[str, Any]:
    """DayContext: every shard's statistics merged into the shop's, written to S3. The
    shards' files are read a few ahead of the one being added (``STATS_AHEAD``) and
    added in shard order (``day_context`` takes them from a generator), so the step
    holds the merged counts and a few shards', never every shard's."""
    with IoPool(STATS_AHEAD) as pool:
        context = day_context(_shard_stats(plan, storage, pool))
    _put_json(storage, plan.prefix + "context.json", context.model_dump_json())
    model = context.predictions
    if model is not None:  # the editor applies the day's model instead of refitting it
        # Kept with the day's features (not an intermediate file: no retention tag).
        storage.s3.put_object(Bucket=storage.bucket,
                              Key=keys.prediction_model_key(plan.shop, plan.run_date),
                              Body=model.model_dump_json().encode(),
                              ContentType="application/json")
    return {"customers": context.customers,
            "predictions": "fitted" if model is not None and model.bgnbd else "not_fitted"}


# A shard's statistics file (``compute.stats_table``), and how many DayContext reads
# ahead of the one it adds: each is about 1 MB parsed at 100,000 customers a shard.
STATS_FILE = "stats.parquet"
STATS_AHEAD = 4


def _shard_stats(plan: ShardPlan, storage: Storage, pool: IoPool) -> Iterator[ShardStats]:
    """Each shard's statistics in shard order, read on ``pool`` ahead of their turn."""
    def read(k: int) -> ShardStats:
        return stats_of_table(read_parquet(storage.s3, storage.bucket,
                                           f"{plan.prefix}shard-{k}/{STATS_FILE}"))

    yield from pool.ordered(read, range(plan.shards))


def run_shard_day(item: ShardItem, *, reader: Any, storage: Storage, segments: Any,
                  tz: str = "UTC", analytics: bool = True) -> dict[str, Any]:
    """SegmentShards (one shard): its memberships and partial figures, written to S3.

    Its S3 calls are concurrent (``IoPool``): the run's files are read while the shard's
    lake is, and every file it writes (about 8: every segment's members in one) is written at
    once, all awaited before it answers. The day's segments are PlanDay's
    (``segments_plan_key``: the same in every shard, listed once a day). Yesterday's
    snapshots are not read here:
    ReduceDay counts who entered and left on each segment's merged members (one read of
    each snapshot a day instead of one in every shard)."""
    base = f"{item.prefix}shard-{item.shard}/"
    with IoPool() as pool:
        context_body = pool.submit(_get, storage, item.prefix + "context.json")
        features_file = pool.submit(_read_arrow, storage, base + FEATURES_FILE)
        inputs_file = pool.submit(_read_arrow, storage, base + INPUTS_FILE)
        planned = pool.submit(lambda: read_day_plan(
            item.shop, _day_segments(storage, item.prefix, item.shop, segments), storage))
        tables = _shard_lake(reader, item, DAY_COLUMNS)
        plan = planned.result()
        context = DayContext.model_validate_json(context_body.result())
        features, inputs = features_file.result(), inputs_file.result()
        # Computed once, read by the segments' figures and the shop's part alike.
        counted = counted_orders(None, tables.orders, tables.refunds, item.run_date, tz)
        scores = (model_scores(inputs, context.predictions)
                  if context.predictions is not None else None)
        day = shard_day(tables, features, context, item.run_date,
                        plan.conditions, shard=item.shard, shards=item.shards, tz=tz,
                        fixed_members=plan.fixed_members, previous=None,
                        analytics=analytics, inputs=inputs, members=plan.lists,
                        counted=counted, scores=scores)
        uploads = _Uploads(storage, pool)
        # Every segment's members in one file (``seglift.dayrun.member_parts``), written
        # before partials.json, which holds where each segment's part lies in it.
        members_file = pool.submit(_put_members, storage, _members_key(base), day.members)
        uploads.parquet(base + "features.parquet", day.features)
        # The journey counts (most of the partials' bytes) as one Parquet table beside
        # them (``seglift.dayrun.journeys``).
        uploads.parquet(base + "journeys.parquet", journeys_table(
            [(sid, p.profile) for sid, p in day.partials.items()] + [(EVERYONE, day.everyone)]))
        etag, sizes = members_file.result()
        partials = ShardPartials(
            segments=list(day.members), member_sizes=sizes, members_etag=etag,
            partials={sid: p.model_copy(update={"profile": without_journeys(p.profile)})
                      for sid, p in day.partials.items()},
            everyone=without_journeys(day.everyone),
            failures={sid: (type(e).__name__ if not isinstance(e, SegmentFailure)
                            else e.kind, str(e)) for sid, e in day.failures.items()},
            profile_error=day.profile_error)
        uploads.json(base + "partials.json", partials.model_dump_json())
        if analytics:
            _write_shop_part(uploads, item, tables, day.members, context, inputs, tz,
                             counted, scores)
        uploads.wait()
    return {"shard": item.shard, "segments": len(day.members), "failed": len(day.failures)}


def _day_segments(storage: Storage, prefix: str, shop: str, segments: Segments
                  ) -> DaySegments:
    """The day's segments as PlanDay wrote them. A run planned before PlanDay wrote them
    (a deployment while it ran) lists them itself, as every step once did."""
    try:
        body = _get(storage, segments_plan_key(prefix))
    except storage.s3.exceptions.NoSuchKey:
        return plan_segments(shop, segments)
    return DaySegments.model_validate_json(body)


class _Uploads:
    """A step's S3 writes, made on its ``IoPool`` and all awaited (``wait``) before the
    step answers: a failed write fails the step, which the workflow retries."""

    def __init__(self, storage: Storage, pool: IoPool) -> None:
        self._storage, self._pool = storage, pool
        self._pending: list[Future[None]] = []

    def parquet(self, key: str, table: pa.Table) -> None:
        self._pending.append(self._pool.submit(_put_parquet, self._storage, key, table))

    def json(self, key: str, body: str) -> None:
        self._pending.append(self._pool.submit(_put_json, self._storage, key, body))

    def arrow(self, key: str, table: pa.Table) -> None:
        self._pending.append(self._pool.submit(_put_arrow, self._storage, key, table))

    def wait(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()


def _members_key(base: str) -> str:
    """A shard's members of every segment (``seglift.dayrun.member_parts``)."""
    return f"{base}members.bin"


def _put_members(storage: Storage, key: str, members: Mapping[str, pa.Array]
                 ) -> tuple[str, list[int]]:
    """The shard's members file written; its ETag and each segment's part's size."""
    body, sizes = encode_members(members)
    written = storage.s3.put_object(Bucket=storage.bucket, Key=key, Body=body,
                                    **_tagging(key))
    return str(written["ETag"]), sizes


class MembersFileChanged(RuntimeError):
    """A shard's members file is not the one its partials describe."""


# Encoded members read in one window (summed over the shards, ``member_parts.windows``);
# ``_MemberReads`` holds two windows at most (the one merged and the next).
MEMBERS_WINDOW_BYTES = 48 << 20


class _MemberReads:
    """Every shard's members of the day's segments, read from S3 a window of segments at
    a time (``member_parts.windows``: one ranged GET per shard covers every segment of
    the window) and a window ahead: asked for a segment's part, it reads that segment's
    window from every shard at once (``IoPool``) and starts reading the next window (in
    ``order``, the order ``store_day`` asks for the segments) while the caller merges.
    Each part is decoded when asked for and not kept; a window's bytes are let go when a
    segment of a later window is asked for, so memory holds two windows' encoded bytes
    (``window_bytes`` each at most, or one segment's if larger) plus what the caller
    keeps, never every segment's members."""

    def __init__(self, storage: Storage, prefix: str, shards: Sequence[ShardPartials],
                 order: Sequence[str], pool: IoPool, window_bytes: int | None = None
                 ) -> None:
        self._storage, self._prefix, self._pool = storage, prefix, pool
        self._indexes = [ShardIndex.of(s.segments, s.member_sizes) for s in shards]
        self._etags = [s.members_etag for s in shards]
        known = {sid for index in self._indexes for sid in index.parts}
        self._windows = windows([sid for sid in dict.fromkeys(order) if sid in known],
                                self._indexes, window_bytes or MEMBERS_WINDOW_BYTES)
        self._window_of = {sid: w for w, run in enumerate(self._windows) for sid in run}
        self._reads: dict[int, list[Future[tuple[int, bytes]] | None]] = {}

    def _read(self, shard: int, start: int, end: int) -> tuple[int, bytes]:
        key = _members_key(f"{self._prefix}shard-{shard}/")
        etag = self._etags[shard]
        try:
            body = self._storage.s3.get_object(
                Bucket=self._storage.bucket, Key=key, Range=f"bytes={start}-{end - 1}",
                **({"IfMatch": etag} if etag else {}))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise MembersFileChanged(
                    f"shard {shard}'s members file changed after its partials were written "
                    "(the shard ran again): run the day again") from error
            raise
        if len(body) != end - start:
            raise MembersFileChanged(f"shard {shard}'s members file is shorter than its "
                                     "partials say: run the day again")
        return start, body

    def _start(self, window: int) -> list[Future[tuple[int, bytes]] | None]:
        if window not in self._reads:
            run = self._windows[window]
            spans = [index.span(run) for index in self._indexes]
            self._reads[window] = [
                None if span is None else self._pool.submit(self._read, k, *span)
                for k, span in enumerate(spans)]
        return self._reads[window]

    def part(self, shard: int, segment_id: str) -> pa.Array:
        window = self._window_of.get(segment_id)
        index = self._indexes[shard]
        if window is None or segment_id not in index.parts:
            raise KeyError(segment_id)
        reads = self._start(window)
        for earlier in [w for w in self._reads if w < window]:
            del self._reads[earlier]  # its segments merged and stored: let go
        if window + 1 < len(self._windows):
            self._start(window + 1)
        future = reads[shard]
        if future is None:
            raise KeyError(segment_id)
        start, body = future.result()
        offset, size = index.parts[segment_id]
        return decode_part(memoryview(body)[offset - start:offset - start + size])


class _YesterdayReads:
    """Each segment's snapshot of the day before (``Yesterday``), read a segment ahead
    in ``order`` (the order ``ReducedDay`` is asked for them) and let go once given."""

    def __init__(self, storage: Storage, shop: str, day: date, order: Sequence[str],
                 pool: IoPool) -> None:
        self._storage, self._shop, self._day, self._pool = storage, shop, day, pool
        self._order = list(order)
        self._place = {sid: i for i, sid in enumerate(order)}
        self._reads: dict[str, Future[pa.Array | None]] = {}

    def _start(self, segment_id: str) -> Future[pa.Array | None]:
        if segment_id not in self._reads:
            self._reads[segment_id] = self._pool.submit(
                snapshot_or_none, self._shop, segment_id, self._day, self._storage)
        return self._reads[segment_id]

    def __call__(self, segment_id: str) -> Yesterday:
        read = self._start(segment_id)
        place = self._place.get(segment_id)
        if place is not None:
            for earlier in [s for s in self._reads if self._place.get(s, place) < place]:
                del self._reads[earlier]  # a segment skipped (not reported): let go
            if place + 1 < len(self._order):
                self._start(self._order[place + 1])
        del self._reads[segment_id]
        return Yesterday(read.result())


class _ShardMembers(Mapping[str, pa.Array]):
    """A shard's members of each segment it evaluated, read from S3 when asked for
    (``_MemberReads``) and not kept (ReduceDay asks for one segment at a time)."""

    def __init__(self, reads: _MemberReads, shard: int, segments: list[str]) -> None:
        self._reads, self._shard = reads, shard
        self._index = {sid: i for i, sid in enumerate(segments)}

    def __getitem__(self, segment_id: str) -> pa.Array:
        if segment_id not in self._index:
            raise KeyError(segment_id)
        return self._reads.part(self._shard, segment_id)

    def __contains__(self, segment_id: object) -> bool:  # Mapping's would read the file
        return segment_id in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def _write_shop_part(uploads: _Uploads, item: ShardItem, tables: LakeTables,
                     members: Mapping[str, pa.Array], context: DayContext, inputs: pa.Table,
                     tz: str, counted: pa.Table, scores: CustomerScores | None) -> None:
    """The shard's part of the shop's analytics (``seglift.analytics.shop``), for the
    ComputeShopAnalytics step. A part that cannot be computed is written as its error:
    the day's segments stand, the shop's analytics of the day are recorded as failed."""
    model = context.predictions.clv_model() if context.predictions is not None else None
    try:
        part = shop_shard(tables.orders, tables.refunds, members, item.run_date, tz,
                          model=model, inputs=inputs, first_order=context.first_order,
                          counted=counted, scores=scores)
    except Exception as error:  # the segments' day stands without the shop's analytics
        uploads.json(shop_files.sums_key(item.prefix, item.shard), ShopShardFile(
            error=f"{type(error).__name__}: {error}").model_dump_json())
        return
    uploads.parquet(shop_files.calibration_key(item.prefix, item.shard), part.calibration)
    uploads.parquet(shop_files.patterns_key(item.prefix, item.shard), part.patterns)
    if part.predictions is not None:
        uploads.parquet(shop_files.predictions_key(item.prefix, item.shard),
                        part.predictions)
    uploads.json(shop_files.sums_key(item.prefix, item.shard), ShopShardFile(
        sums=part.sums, predictions=part.predictions is not None).model_dump_json())


def _shard_partials(storage: Storage, prefix: str, shard: int) -> tuple[bytes, pa.Table]:
    """A shard's partials.json (bytes: parsed on the caller's thread) and its journey
    counts (decoded here, into Arrow's memory)."""
    base = f"{prefix}shard-{shard}/"
    return (_get(storage, base + "partials.json"),
            read_parquet(storage.s3, storage.bucket, base + "journeys.parquet"))


def _with_journeys(merged: MergedPartials, journeys: JourneysFold) -> MergedPartials:
    """The added partials with their profiles' journey counts put back, added."""
    profiles: dict[str | None, ProfilePartial] = {
        sid: p.profile for sid, p in merged.partials.items() if p.profile is not None}
    if merged.everyone is not None:
        profiles[EVERYONE] = merged.everyone
    counts = journeys.counts({sid: p.journeys.type for sid, p in profiles.items()})

    def put_back(profile: ProfilePartial, place: str | None) -> ProfilePartial:
        return profile.model_copy(update={"journeys": counts[place]})

    return MergedPartials(
        {sid: p if p.profile is None else
         p.model_copy(update={"profile": put_back(p.profile, sid)})
         for sid, p in merged.partials.items()},
        None if merged.everyone is None else put_back(merged.everyone, EVERYONE))


def _shard_day(saved: ShardPartials, members: Mapping[str, pa.Array]) -> ShardDay:
    failures: dict[str, Exception] = {
        sid: SegmentFailure(kind, message) for sid, (kind, message) in saved.failures.items()}
    return ShardDay(members, dict(saved.partials), failures, saved.everyone,
                    pa.table({}), saved.profile_error)


def _write_features(storage: Storage, plan: ShardPlan) -> None:
    """The day's features file: every shard's, one after another, at the key exports and
    measurements read. Streamed through a temporary file (the next shard's part read while
    this one is written, so two shards in memory at a time; the upload is multipart above
    8 MB), so the whole shop's features never are."""
    fd, path = tempfile.mkstemp(suffix=".parquet", prefix="seglift-features-")
    os.close(fd)

    def read(k: int) -> pa.Table:
        return read_parquet(storage.s3, storage.bucket, f"{plan.prefix}shard-{k}/features.parquet")

    try:
        writer: pq.ParquetWriter | None = None
        with IoPool(1) as ahead:
            for part in ahead.ordered(read, range(plan.shards), ahead=1):
                if writer is None:
                    writer = pq.ParquetWriter(path, part.schema, compression="zstd")
                writer.write_table(part)
                del part
        if writer is not None:
            writer.close()
        storage.s3.upload_file(path, storage.bucket,
                               keys.features_key(plan.shop, plan.run_date))
    finally:
        os.unlink(path)


# Shards' partials read ahead of the one being added: each is several MB parsed at
# 10,000,000 customers (every segment's product-journey pair counts).
PARTIALS_AHEAD = 4
# Shards' partial figures held before they are added (``PartialsFold``): without their
# journey counts (journeys.parquet, ``JourneysFold``) a shard's are small, and each
# addition is a group-by per profile trait and segment (at 8 shards a time, 1,071
# group-bys at 1,000,000 customers in 16 shards, most of the merge's time: fixed costs).
PARTIALS_BATCH = 32


def reduce_shards(plan: ShardPlan, *, reader: Any, stores: DayStores,
                  workers: int = DEFAULT_WORKERS) -> DayRunResult:
    """ReduceDay: every shard's part merged, then stored as the day-run stores a day.

    One segment at a time (``ReducedDay``): its parts read from every shard, merged,
    stored, let go; what stays in memory for the whole run is the sum of the shards'
    partial figures (``PartialsFold``: added as they are read, a few shards at a time),
    not every shard's, nor their members. The S3 calls are concurrent (``IoPool``, ``workers`` in
    flight): every shard's partials at the start; a window of segments' parts from
    every shard's members file, one ranged GET a shard, the next window read while this
    one is merged (``_MemberReads``); the snapshots written and the segments' records
    updated while the next segment is merged (``store_day``); and the day's features
    file written beside all of it, on its own thread. With a file per segment and shard
    the reads were one S3 round trip each (6,400 at 128 shards; 800 at 16, ~10 ms of
    CPU each in the local cloud)."""
    storage = stores.storage
    # The segments the shards computed, less any deleted since (not stored).
    day_plan = _day_segments(storage, plan.prefix, plan.shop, stores.segments).of_segments(
        {s.segment_id for s in stores.segments.list(plan.shop)})
    products = reader.read_table("products", columns=None)
    with IoPool(workers) as pool, IoPool(1) as background:
        features = background.submit(_write_features, storage, plan)
        # Every shard's partial figures added as they arrive (a few shards parsed at a
        # time): the running sums stay, each shard's partials go.
        # The pool's threads only fetch the bytes: parsing them into Python objects on
        # many threads spreads them over as many malloc arenas (5 GB peak instead of
        # 1.2 GB at 10,000,000 customers, reduce_shards_bench).
        fold, journeys = PartialsFold(PARTIALS_BATCH), JourneysFold()
        saved = []
        for body, table in pool.ordered(lambda k: _shard_partials(storage, plan.prefix, k),
                                        range(plan.shards), ahead=PARTIALS_AHEAD):
            partials = ShardPartials.model_validate_json(body)
            del body
            fold.add(partials.partials, partials.everyone)
            journeys.add(table)
            del table
            saved.append(partials.model_copy(update={"partials": {}, "everyone": None}))
            del partials
        reads = _MemberReads(storage, plan.prefix, saved, day_plan.segment_ids, pool)
        days = [_shard_day(s, _ShardMembers(reads, k, s.segments)) for k, s in enumerate(saved)]
        del saved
        yesterday = _YesterdayReads(storage, plan.shop, plan.run_date - timedelta(days=1),
                                    day_plan.segment_ids, pool)
        reduced = ReducedDay(days, day_plan.segment_ids, plan.run_date, products,
                             merged=_with_journeys(fold.merged(), journeys),
                             yesterday=yesterday)
        result = store_day(plan.shop, plan.run_date, day_plan, reduced, reduced.failures,
                           stores, customers=plan.customers, pool=pool)
        features.result()  # a failed features file fails the step (the workflow retries)
    return result
