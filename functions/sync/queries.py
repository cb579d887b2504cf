"""The GraphQL documents the sync sends: bulk exports of customers, orders, products and
collections (with the ids of their products).

The full-export documents are constants (validated against the Admin schema by the
project-wide test); the incremental ones only add a search filter on ``updated_at``, so
they are built by ``bulk_query`` from the same selections.
"""

from __future__ import annotations

CUSTOMER_FIELDS = """
      id firstName lastName createdAt updatedAt tags state
      defaultEmailAddress { emailAddress marketingState }
      defaultAddress { countryCodeV2 provinceCode city }
"""

_MONEY = "shopMoney { amount }"
_VISIT = "source sourceType landingPage referrerUrl " \
         "utmParameters { source medium campaign content term }"

ORDER_FIELDS = f"""
      id name createdAt processedAt updatedAt cancelledAt currencyCode
      subtotalPriceSet {{ {_MONEY} }} totalDiscountsSet {{ {_MONEY} }}
      totalPriceSet {{ {_MONEY} }} totalRefundedSet {{ {_MONEY} }}
      discountCodes sourceName
      customer {{ id }}
      customerJourneySummary {{
        customerOrderIndex daysToConversion
        firstVisit {{ {_VISIT} }}
      }}
      refunds {{ id createdAt totalRefundedSet {{ {_MONEY} }} }}
      lineItems {{
        edges {{ node {{
          id title variantTitle sku quantity product {{ id }} variant {{ id }}
          originalUnitPriceSet {{ {_MONEY} }} discountedTotalSet {{ {_MONEY} }}
        }} }}
      }}
"""

PRODUCT_FIELDS = """
      id title productType vendor handle tags status createdAt updatedAt
"""

# A collection and its products' ids (children lines with the collection as __parentId).
COLLECTION_FIELDS = """
      id title handle updatedAt
      products { edges { node { id } } }
"""

_FIELDS = {"customers": CUSTOMER_FIELDS, "orders": ORDER_FIELDS, "products": PRODUCT_FIELDS,
           "collections": COLLECTION_FIELDS}
RESOURCES = tuple(_FIELDS)


def bulk_query(resource: str, updated_since: str | None = None) -> str:
    """The bulk export of ``resource``, optionally only records updated at/after a time.

    ``updated_since`` is an ISO 8601 UTC timestamp such as ``2026-11-01T00:00:00Z``.
    """
    if resource not in _FIELDS:
        raise ValueError(f"unknown resource {resource!r}; use one of {RESOURCES}")
    arguments = ""
    if updated_since is not None:
        if "'" in updated_since or '"' in updated_since:
            raise ValueError(f"invalid timestamp {updated_since!r}")
        arguments = f"(query: \"updated_at:>='{updated_since}'\")"
    selection = _FIELDS[resource]
    return f"{{\n  {resource}{arguments} {{\n    edges {{ node {{{selection}    }} }}\n  }}\n}}\n"


CUSTOMERS_BULK_QUERY_GQL = bulk_query("customers")
ORDERS_BULK_QUERY_GQL = bulk_query("orders")
PRODUCTS_BULK_QUERY_GQL = bulk_query("products")
COLLECTIONS_BULK_QUERY_GQL = bulk_query("collections")

# Cheap counts, to detect customers deleted in Shopify (deletion events cover products
# only; customers leave only through webhooks, so the sync reconciles by count and ids).
CUSTOMERS_COUNT_GQL = """
query CustomersCount { customersCount(limit: null) { count precision } }
"""

CUSTOMER_IDS_BULK_QUERY_GQL = "{\n  customers { edges { node { id } } }\n}\n"

PRODUCT_DELETIONS_GQL = """
query ProductDeletions($query: String, $after: String) {
  deletionEvents(first: 250, after: $after, subjectTypes: [PRODUCT], query: $query) {
    edges { node { subjectId occurredAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

SHOP_TIMEZONE_GQL = "query ShopTimezone { shop { ianaTimezone } }"
