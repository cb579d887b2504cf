"""Batches spend the shop's cost bucket as fast as it refills, never more (fake clock)."""

from __future__ import annotations

from seglift.storage.tag_job_repository import TagJob
from seglift.tagging.batches import process_batch
from seglift.tagging.documents import MAX_ALIASES_PER_DOCUMENT, build_tags_mutation
from seglift.tagging.messages import BatchMessage
from tests.tagging.conftest import SHOP
from tests.tagging.fakes import Deps, FakeClock, FakeShop, bucket_client


def _job(deps: Deps, batches: int, total: int) -> None:
    deps.jobs.create(TagJob(shop=SHOP, job_id="j1", segment_id="vip", tag="VIP",
                            action="add", created_at=deps.now(), total=total))
    deps.jobs.set_plan(SHOP, "j1", total=total, batches_total=batches)


def test_a_document_never_requests_more_than_1000_points():
    assert MAX_ALIASES_PER_DOCUMENT * 10 == 1000
    build_tags_mutation("add", 100)
    try:
        build_tags_mutation("add", 101)
    except ValueError:
        pass
    else:
        raise AssertionError("a 101-call document must be refused")


def test_tagging_uses_the_whole_bucket_and_is_never_throttled(aws):
    clock = FakeClock()
    shop = FakeShop.with_customers(range(1, 1001))
    client, transport = bucket_client(shop, clock, maximum=2000, restore=100)
    deps_jobs = _Deps(shop, client)
    _job(deps_jobs.deps, 4, 1000)
    start = clock()
    for n in range(4):
        ids = tuple(range(n * 250 + 1, n * 250 + 251))
        process_batch(BatchMessage(SHOP, "j1", n, ids), jobs=deps_jobs.deps.jobs,
                      client_for_shop=lambda _shop: client, notifier=deps_jobs.deps.notifier,
                      now=deps_jobs.deps.now)
    elapsed = clock() - start
    final = deps_jobs.deps.jobs.get(SHOP, "j1")
    assert (final.done, final.status) == (1000, "completed")
    assert transport.throttled == 0
    # 10,000 mutation points + 4 tag reads, the first 2000 from the full bucket, then
    # 100/s: the ideal is 80 s of refill; allow 5% for document granularity.
    ideal = (1000 * 10 + 4 - 2000) / 100
    assert elapsed <= ideal * 1.05


def test_a_throttling_storm_is_waited_out_and_counts_stay_exact(aws):
    clock = FakeClock()
    shop = FakeShop.with_customers(range(1, 251))
    client, transport = bucket_client(shop, clock, storm=4)
    holder = _Deps(shop, client)
    _job(holder.deps, 1, 250)
    process_batch(BatchMessage(SHOP, "j1", 0, tuple(range(1, 251))), jobs=holder.deps.jobs,
                  client_for_shop=lambda _shop: client, notifier=holder.deps.notifier,
                  now=holder.deps.now)
    final = holder.deps.jobs.get(SHOP, "j1")
    assert transport.throttled == 4
    assert (final.done, final.failed, final.status) == (250, 0, "completed")
    assert shop.mutations == 250
    assert len(holder.deps.notifier.sent) == 1


class _Deps:
    def __init__(self, shop: FakeShop, client: object) -> None:
        from seglift.storage.tag_job_repository import TagJobRepository
        from tests.tagging.conftest import TAG_JOBS_TABLE, create_tag_jobs_table
        from tests.tagging.fakes import DictMembers, ListQueue, Outbox

        create_tag_jobs_table()
        self.deps = Deps(jobs=TagJobRepository(TAG_JOBS_TABLE), queue=ListQueue(),
                         members=DictMembers(), notifier=Outbox(), shop=shop, client=client)
