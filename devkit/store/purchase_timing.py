"""When customers sign up and when they buy: the sign-up growth and repeat-purchase model.

Why separate: order numbers must increase with time across the whole store, so the
generator replays this (cheap, vectorised) part for every block before building any
record. Everything here is numpy over a block of ``BLOCK_SIZE`` customers.

Model (see ``devkit.store.generator`` for the whole picture):
* customer ``i`` of ``N`` signs up at quantile ``(i + u) / N`` of an exponentially growing
  sign-up rate (``SIGNUP_GROWTH_PER_YEAR``), so ids increase with ``createdAt``;
* ``ACCOUNT_ONLY_SHARE`` never buy; the others buy first minutes after sign-up (checkout
  sign-up) or some days later;
* BG/NBD-like repeat buying: purchase rate ~ Gamma, churn probability after each
  purchase ~ Beta; waits between purchases are exponential plus a floor; purchases after
  the end of the history are never placed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from devkit.store.spec import SECONDS_PER_DAY, StoreSpec

BLOCK_SIZE = 1_000

SIGNUP_GROWTH_PER_YEAR = 0.8
ACCOUNT_ONLY_SHARE = 0.10
CHECKOUT_SIGNUP_SHARE = 0.6
FIRST_ORDER_DELAY_MEAN_DAYS = 12.0

PURCHASE_RATE_SHAPE = 0.8
PURCHASE_RATE_MEAN_PER_DAY = 1 / 60
CHURN_BETA_A = 1.4
CHURN_BETA_B = 2.2
MIN_INTERPURCHASE_DAYS = 2.0
MAX_ORDERS_PER_CUSTOMER = 40

_TIEBREAK_BITS = 32


@dataclass(frozen=True)
class BlockTiming:
    """The purchase timing of one block of customers.

    ``rng`` has consumed exactly the timing draws; the block's other draws continue from
    it. Orders are customer-major (customer ascending, then purchase index ascending).
    """

    rng: np.random.Generator
    first_customer: int  # store-wide index of the block's first customer
    created: np.ndarray  # (n,) sign-up, seconds since history start
    order_customer: np.ndarray  # (orders,) customer position within the block
    order_index: np.ndarray  # (orders,) 0 for the customer's first order
    order_time: np.ndarray  # (orders,) seconds since history start, < horizon


def block_count(spec: StoreSpec) -> int:
    """How many blocks the spec's customers fill (the last one may be partial)."""
    return -(-spec.customers // BLOCK_SIZE)


def block_timing(spec: StoreSpec, block: int) -> BlockTiming:
    """Sign-ups and purchase times of one block, from the block's own sub-seed."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 1, block]))
    first = block * BLOCK_SIZE
    n = min(BLOCK_SIZE, spec.customers - first)
    growth = math.log1p(SIGNUP_GROWTH_PER_YEAR) / 365.0
    quantile = (np.arange(first, first + n) + rng.random(n)) / spec.customers
    created_days = np.log1p(quantile * math.expm1(growth * spec.history_days)) / growth
    created = np.minimum((created_days * SECONDS_PER_DAY).astype(np.int64), spec.horizon - 1)

    buyer = rng.random(n) >= ACCOUNT_ONLY_SHARE
    rate = np.maximum(rng.gamma(PURCHASE_RATE_SHAPE,
                                PURCHASE_RATE_MEAN_PER_DAY / PURCHASE_RATE_SHAPE, n), 1e-6)
    churn = rng.beta(CHURN_BETA_A, CHURN_BETA_B, n)
    if spec.repeat_scale != 1.0:  # the default keeps every existing store bit-identical
        rate = rate * spec.repeat_scale
        churn = np.clip(churn / spec.repeat_scale, 1e-6, 1.0)
    purchases_before_churn = np.minimum(rng.geometric(churn), MAX_ORDERS_PER_CUSTOMER)
    at_checkout = rng.random(n) < CHECKOUT_SIGNUP_SHARE
    checkout_delay = rng.integers(60, 900, n)
    later_delay = rng.exponential(FIRST_ORDER_DELAY_MEAN_DAYS, n) * SECONDS_PER_DAY
    first_order = created + np.where(at_checkout, checkout_delay,
                                     later_delay.astype(np.int64) + 900)
    waits = MIN_INTERPURCHASE_DAYS + rng.exponential(
        1.0, (n, MAX_ORDERS_PER_CUSTOMER - 1)) / rate[:, None]
    gaps = np.minimum(waits * SECONDS_PER_DAY, 1e15).astype(np.int64)
    times = first_order[:, None] + np.concatenate(
        [np.zeros((n, 1), dtype=np.int64), np.cumsum(gaps, axis=1)], axis=1)
    index = np.arange(MAX_ORDERS_PER_CUSTOMER)
    placed = (buyer[:, None] & (index[None, :] < purchases_before_churn[:, None])
              & (times < spec.horizon))
    order_customer, order_index = np.nonzero(placed)
    return BlockTiming(rng=rng, first_customer=first, created=created,
                       order_customer=order_customer.astype(np.int64),
                       order_index=order_index.astype(np.int64),
                       order_time=times[order_customer, order_index])


@dataclass(frozen=True)
class OrderNumbering:
    """Chronological rank of every order in the store, from a timing-only first pass.

    An order's key is ``time << 32 | sequence`` where the sequence is its customer-major
    position in the store, so equal times still rank deterministically. Holds one int64
    per order (8 bytes; about 20 MB for a million customers).
    """

    sorted_keys: np.ndarray
    block_offsets: np.ndarray  # (blocks,) customer-major position of each block's first order

    @classmethod
    def build(cls, spec: StoreSpec) -> OrderNumbering:
        keys: list[np.ndarray] = []
        offsets: list[int] = []
        total = 0
        for block in range(block_count(spec)):
            timing = block_timing(spec, block)
            offsets.append(total)
            keys.append(cls._keys(timing.order_time, total))
            total += len(timing.order_time)
        merged = np.sort(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
        return cls(sorted_keys=merged, block_offsets=np.array(offsets, dtype=np.int64))

    @staticmethod
    def _keys(order_time: np.ndarray, offset: int) -> np.ndarray:
        sequence = offset + np.arange(len(order_time), dtype=np.int64)
        return (order_time << _TIEBREAK_BITS) | sequence

    def ranks(self, block: int, order_time: np.ndarray) -> np.ndarray:
        """0-based store-wide chronological rank of each of the block's orders."""
        keys = self._keys(order_time, int(self.block_offsets[block]))
        return np.searchsorted(self.sorted_keys, keys)
