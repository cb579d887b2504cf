"""A small JSON client of the seglift REST API, as the frontend uses it: HTTP, a bearer
session token per request, and the API's error shape turned into an exception."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        detail = error.get("message") or body
        super().__init__(f"{method} {path} -> HTTP {status}: {detail}")
        self.status = status
        self.body = body
        self.code = error.get("code")


class ApiClient:
    def __init__(self, base_url: str, token: Callable[[], str], timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self._token()}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text.decode(errors="replace")
            raise ApiError(method, path, error.code, parsed) from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body if body is not None else {})

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def answer(self, reply: Any, timeout_s: float = 300.0) -> Any:
        """A reply that may be a job (a preview or explanation of a day the segments
        function does not hold answers 202 with one): the job's result, or the reply as
        it is when it was answered at once."""
        if isinstance(reply, dict) and str(reply.get("id", "")).startswith("job_"):
            return self.follow(reply, timeout_s=timeout_s)
        return reply

    def follow(self, job: dict[str, Any], timeout_s: float = 120.0, poll_s: float = 0.2
               ) -> Any:
        """Poll GET /jobs/{id} as the dashboard does until the job ``job`` (a 202's body)
        is final: its result when it succeeded; JobFailed (with its error) when not."""
        deadline = time.monotonic() + timeout_s
        while job["status"] not in ("succeeded", "failed"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job['id']} is still {job['status']}: "
                                   f"{job.get('progress')}")
            time.sleep(poll_s)
            job = self.get(f"/jobs/{job['id']}")
        if job["status"] == "failed":
            raise JobFailed(job)
        return job["result"]


class JobFailed(RuntimeError):
    def __init__(self, job: dict[str, Any]) -> None:
        error = job.get("error") or {}
        super().__init__(f"job {job['id']} failed: {error.get('code')}: {error.get('message')}")
        self.job = job
        self.code = error.get("code")
