"""GET /health: liveness for load balancers and the local cloud; no token needed."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.models import Health

router = APIGatewayRouter()


@router.get("/health", summary="Liveness check", tags=["health"])
def health() -> Health:
    return Health()
