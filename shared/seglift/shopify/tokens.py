"""Shop access tokens in SSM Parameter Store (SecureString): the only place that touches SSM.

Tokens never land in DynamoDB or logs; the shop record holds only the parameter name.
"""

from __future__ import annotations

import contextlib
from typing import Any


class TokenNotFoundError(LookupError):
    """No token is stored under the parameter name: the shop must (re)install the app."""


class SsmTokenStore:
    """Reads and writes Admin API access tokens; takes a boto3 SSM client so tests use moto."""

    def __init__(self, ssm_client: Any) -> None:
        self._ssm = ssm_client

    def get(self, parameter_name: str) -> str:
        try:
            response = self._ssm.get_parameter(Name=parameter_name, WithDecryption=True)
        except self._ssm.exceptions.ParameterNotFound:
            raise TokenNotFoundError(
                f"no access token stored at SSM parameter {parameter_name!r}: "
                "reinstall the app for this shop"
            ) from None
        return str(response["Parameter"]["Value"])

    def put(self, parameter_name: str, token: str) -> None:
        if not token:
            raise ValueError("refusing to store an empty access token")
        self._ssm.put_parameter(
            Name=parameter_name, Value=token, Type="SecureString", Overwrite=True
        )

    def delete(self, parameter_name: str) -> None:
        """Forget a shop's token (shop redaction); a parameter already gone is fine."""
        with contextlib.suppress(self._ssm.exceptions.ParameterNotFound):
            self._ssm.delete_parameter(Name=parameter_name)
