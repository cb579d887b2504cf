"""Runtime configuration of a Lambda function, read from its environment in one place.

Handlers call ``RuntimeConfig.from_environ(os.environ)`` at invocation time (never at
import time); logic receives the typed object, never the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SHOPIFY_API_VERSION = "2026-10"


class ConfigurationError(RuntimeError):
    """The function's environment is missing something template.yaml should have set."""


@dataclass(frozen=True)
class RuntimeConfig:
    data_bucket: str = ""
    shops_table: str = ""
    segments_table: str = ""
    metrics_table: str = ""
    tag_jobs_table: str = ""
    idempotency_table: str = ""
    tag_job_queue_url: str = ""
    pipeline_state_machine_arn: str = ""
    sender_email: str = ""
    # Empty in production: the shop's own https://<shop>/admin/api/<version>. The local
    # cloud points it at the Shopify emulator, e.g. http://127.0.0.1:8765.
    shopify_base_url: str = ""
    app_base_url: str = ""
    # The API's public base URL for OAuth redirects and webhook callbacks when it is served
    # on a custom domain; empty: the stack's own execute-api URL (region from AWS_REGION).
    api_base_url: str = ""
    aws_region: str = ""
    # SSM parameter names (SecureString) of the Shopify app's API key and secret: the
    # API verifies session tokens and webhook signatures with them.
    shopify_api_key_parameter: str = ""
    shopify_api_secret_parameter: str = ""
    # The sync function, invoked asynchronously for an on-demand sync (POST /shop/sync).
    daily_state_machine_arn: str = ""
    # SSM path under which each shop's access token lives: "<prefix>/<shop>/access-token"
    # (e.g. /seglift/dev/shops). The API writes it at install, the sync deletes it on
    # shop/redact.
    shop_token_parameter_prefix: str = ""
    # The export function, invoked synchronously by the API (POST /segments/{id}/exports).
    export_function_name: str = ""
    # Measurements (seglift.measurements): their table, and the function that computes
    # results and makes experiments (invoked asynchronously by the API: a new measurement's
    # results, an experiment's job).
    measurements_table: str = ""
    measurements_function_name: str = ""
    # The segments function, invoked by the API for what needs pyarrow: previews, explain,
    # list segments (synchronously) and a new segment's backfill (asynchronously).
    segments_function_name: str = ""
    # Segment analytics (profiles, revenue, cohorts, CLV, journeys): one DynamoDB table.
    analytics_table: str = ""
    # The metrics function, invoked synchronously by the API for on-demand journey
    # transitions (they read Parquet snapshots, which the pyarrow-free API cannot).
    metrics_function_name: str = ""
    # The sharded day-run's customers per shard at most (template CustomersPerShard);
    # empty: ``seglift.dayrun.shards.CUSTOMERS_PER_SHARD``.
    customers_per_shard: str = ""

    _ENV = {
        "data_bucket": "DATA_BUCKET",
        "customers_per_shard": "CUSTOMERS_PER_SHARD",
        "shops_table": "SHOPS_TABLE",
        "segments_table": "SEGMENTS_TABLE",
        "metrics_table": "METRICS_TABLE",
        "tag_jobs_table": "TAG_JOBS_TABLE",
        "idempotency_table": "IDEMPOTENCY_TABLE",
        "tag_job_queue_url": "TAG_JOB_QUEUE_URL",
        "pipeline_state_machine_arn": "PIPELINE_STATE_MACHINE_ARN",
        "sender_email": "SENDER_EMAIL",
        "shopify_base_url": "SHOPIFY_BASE_URL",
        "app_base_url": "APP_BASE_URL",
        "api_base_url": "API_BASE_URL",
        "aws_region": "AWS_REGION",
        "shopify_api_key_parameter": "SHOPIFY_API_KEY_PARAMETER",
        "shopify_api_secret_parameter": "SHOPIFY_API_SECRET_PARAMETER",
        "daily_state_machine_arn": "DAILY_STATE_MACHINE_ARN",
        "shop_token_parameter_prefix": "SHOP_TOKEN_PARAMETER_PREFIX",
        "export_function_name": "EXPORT_FUNCTION_NAME",
        "measurements_table": "MEASUREMENTS_TABLE",
        "measurements_function_name": "MEASUREMENTS_FUNCTION_NAME",
        "segments_function_name": "SEGMENTS_FUNCTION_NAME",
        "analytics_table": "ANALYTICS_TABLE",
        "metrics_function_name": "METRICS_FUNCTION_NAME",
    }

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RuntimeConfig:
        return cls(**{field: environ.get(var, "") for field, var in cls._ENV.items()})

    def shop_token_parameter(self, shop: str) -> str:
        """The SSM parameter name of ``shop``'s access token."""
        self.require("shop_token_parameter_prefix")
        return f"{self.shop_token_parameter_prefix.rstrip('/')}/{shop}/access-token"

    def require(self, *fields: str) -> RuntimeConfig:
        """Raise a ConfigurationError naming every listed setting that is empty."""
        missing = [self._ENV[f] for f in fields if not getattr(self, f)]
        if missing:
            raise ConfigurationError(
                f"missing environment variables {missing}: set them in template.yaml"
            )
        return self
