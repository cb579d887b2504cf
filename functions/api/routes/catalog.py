"""GET /catalog: the shop's products, their variants (named as the admin names them),
collections, product types, customer tags, order sources, UTM values and customers'
countries and provinces, so the dashboard offers pickers (by name, with search) instead
of typed ids.

Read from the lake by the segments function (the API carries no pyarrow). ``q`` keeps the
products whose title contains it (case-insensitive); ``limit`` bounds the product list.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from api.api_model import ApiModel
from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.routes.responses import SYNC_CALL_ERRORS, responses
from api.segment_editor import call_engine, engine, shop_today

router = APIGatewayRouter()

MAX_PRODUCTS = 5000


class CatalogProduct(ApiModel):
    id: int
    title: str
    product_type: str | None = None


class CatalogVariant(ApiModel):
    id: int
    product_id: int | None = None
    title: str = Field(description="The product's title and the variant's own, e.g. "
                       "“AeroPress — Large / Blue”.")
    sku: str | None = None


class CatalogCollection(ApiModel):
    id: int
    title: str
    products: int = Field(default=0, description="How many products it holds.")


class CatalogOut(ApiModel):
    synced: bool = Field(
        default=True, description="False until the shop's first sync: the lists are then "
        "empty because nothing is known yet.")
    products: list[CatalogProduct] = Field(description="Products sorted by title.")
    variants: list[CatalogVariant] = Field(
        default_factory=list, description="Variants the shop's orders contain, by title.")
    collections: list[CatalogCollection] = Field(
        default_factory=list, description="Collections by title, as of the last sync.")
    product_types: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="Customer tags in use.")
    first_visit_source: list[str] = Field(default_factory=list)
    utm_source: list[str] = Field(default_factory=list)
    utm_medium: list[str] = Field(default_factory=list)
    utm_campaign: list[str] = Field(default_factory=list)
    country_code: list[str] = Field(default_factory=list, description="Customers' countries.")
    province_code: list[str] = Field(default_factory=list)


@router.get(
    "/catalog",
    summary="The shop's products, product types, tags, sources and UTM values, for pickers",
    tags=["segment editor"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The shop's catalogue and values", 400, *SYNC_CALL_ERRORS),
)
def get_catalog(
    ctx: Ctx,
    shop: Shop,
    q: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PRODUCTS)] = MAX_PRODUCTS,
) -> CatalogOut:
    """Synchronous: the pickers need it at once, and it computes nothing per customer:
    the segments function reads only the columns it lists (products, collections, the
    variant ids of line items, customers' country and province, orders' source and UTM
    columns) and takes their distinct values, vectorised. Its cost grows with the lake's
    rows, not with any feature; it has not been measured at 1,000,000 customers."""
    found = call_engine(lambda: engine(ctx).catalog(shop, run_date=shop_today(ctx, shop)))
    products = found.get("products") or []
    variants = found.get("variants") or []
    collections = found.get("collections") or []
    if q and q.strip():
        needle = q.strip().casefold()
        products = [p for p in products if needle in str(p.get("title") or "").casefold()]
        variants = [v for v in variants if needle in str(v.get("title") or "").casefold()]
        collections = [c for c in collections
                       if needle in str(c.get("title") or "").casefold()]
    return CatalogOut.model_validate({**found, "products": products[:limit],
                                      "variants": variants[:limit],
                                      "collections": collections[:limit]})
