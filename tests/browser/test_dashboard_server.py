"""The local dashboard server: it serves frontend/ and nothing outside it, answers
config.json with the configuration it was given, and relays presigned S3 requests only
to S3. Also: the static app's module graph is complete and its vendored ECharts build is
the one PROVENANCE.md describes."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devkit.dashboard_server import (
    FRONTEND_DIR,
    LOCAL_MAIL_PATH,
    S3_RELAY_PATH,
    DashboardServer,
    RelayResponse,
    development_config,
    resolve_static_path,
)
from devkit.local_s3_relay import check_s3_url


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "js" / "app.js").write_text("export const ok = 1;")
    (tmp_path / "secret.txt").write_text("not for the browser")
    (root / "escape").symlink_to(tmp_path)
    return root


@pytest.fixture
def relayed() -> list[tuple[str, str, bytes]]:
    """What the fake S3 relay was asked to pass on."""
    return []


@pytest.fixture
def server(site: Path, relayed: list[tuple[str, str, bytes]]) -> Iterator[DashboardServer]:
    def fake_relay(method: str, url: str, body: bytes, headers: dict[str, str]) -> RelayResponse:
        check_s3_url(url)
        relayed.append((method, url, body))
        return RelayResponse(200, "text/plain", b"relayed")

    config = development_config("http://127.0.0.1:9/api", "dev-token")
    with DashboardServer(config, root=site, s3_relay=fake_relay) as running:
        yield running


Answer = tuple[int, dict[str, str], bytes]


def raw_request(server: DashboardServer, method: str, path: str, body: bytes = b"") -> Answer:
    """A request with the path exactly as given (no client-side normalisation of '..')."""
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest(method, path, skip_accept_encoding=True)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    answer = (response.status, dict(response.getheaders()), response.read())
    connection.close()
    return answer


def test_the_root_is_index_html_and_modules_are_javascript(server: DashboardServer) -> None:
    status, headers, body = raw_request(server, "GET", "/")
    assert status == 200 and body.startswith(b"<!doctype html>")
    status, headers, _ = raw_request(server, "GET", "/js/app.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")


def test_config_json_is_the_development_configuration(server: DashboardServer) -> None:
    status, headers, body = raw_request(server, "GET", "/config.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "mode": "development",
        "apiBase": "http://127.0.0.1:9/api",
        "token": "dev-token",
        "s3Relay": S3_RELAY_PATH,
        "localMail": LOCAL_MAIL_PATH,
    }


def test_local_mail_lists_what_the_local_ses_kept_or_is_absent(site: Path) -> None:
    kept = [{"to": ["ops@shop.example"], "subject": "Tag job done", "body": "12 tagged"}]
    config = development_config("http://127.0.0.1:9/api", "dev-token")
    with DashboardServer(config, root=site, local_mail=lambda: kept) as running:
        status, headers, body = raw_request(running, "GET", LOCAL_MAIL_PATH)
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"messages": kept}
    with DashboardServer(config, root=site) as without:
        assert raw_request(without, "GET", LOCAL_MAIL_PATH)[0] == 404


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/js/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/js/%2E%2E/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/escape/secret.txt",  # a symlink leading out of the root
        "/js\\..\\..\\secret.txt",
        "/index.html%00.js",
        "/missing.js",
    ],
)
def test_paths_outside_the_root_or_missing_are_not_found(
    server: DashboardServer, path: str
) -> None:
    status, _, body = raw_request(server, "GET", path)
    assert status == 404
    assert b"not for the browser" not in body


def test_the_site_is_read_only_except_for_the_s3_relay(
    server: DashboardServer, relayed: list[tuple[str, str, bytes]]
) -> None:
    status, _, _ = raw_request(server, "PUT", "/index.html", b"overwritten")
    assert status == 405
    url = "https://bucket.s3.amazonaws.com/uploads/u.csv?Signature=x"
    status, _, body = raw_request(
        server, "PUT", f"{S3_RELAY_PATH}?url={quote(url, safe='')}", b"a,b\n"
    )
    assert (status, body) == (200, b"relayed")
    status, _, _ = raw_request(
        server, "POST", f"{S3_RELAY_PATH}?url={quote(url, safe='')}", b"form"
    )
    assert status == 200
    status, _, _ = raw_request(server, "POST", "/index.html", b"overwritten")
    assert status == 405
    assert relayed == [("PUT", url, b"a,b\n"), ("POST", url, b"form")]


def test_the_relay_refuses_anything_but_s3_in_words(server: DashboardServer) -> None:
    status, _, body = raw_request(server, "GET", f"{S3_RELAY_PATH}?url=http://example.com/x")
    assert status == 400
    assert b"only presigned https S3 URLs are relayed" in body


def test_without_a_relay_the_relay_path_does_not_exist(site: Path) -> None:
    with DashboardServer({"mode": "development"}, root=site) as bare:
        status, _, _ = raw_request(bare, "GET", f"{S3_RELAY_PATH}?url=https://b.s3.amazonaws.com/k")
    assert status == 404


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://seglift-data.s3.amazonaws.com/k.csv?X-Amz-Signature=1", True),
        ("https://seglift-data.s3.us-east-1.amazonaws.com/k.csv", True),
        ("https://s3.eu-west-1.amazonaws.com/bucket/k.csv", True),
        ("http://seglift-data.s3.amazonaws.com/k.csv", False),
        ("https://s3.amazonaws.com.attacker.example/k", False),
        ("https://127.0.0.1:8600/segments", False),
        ("file:///etc/passwd", False),
    ],
)
def test_only_https_s3_urls_are_relayed(url: str, accepted: bool) -> None:
    if accepted:
        assert check_s3_url(url) == url
    else:
        with pytest.raises(ValueError, match="only presigned https S3 URLs"):
            check_s3_url(url)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "js", "app.js", "index.html", "%2e%2e", "escape",
                                 "secret.txt", "", "%2F", "a b"]), max_size=6))
def test_whatever_the_path_a_resolved_file_is_inside_the_root(parts: list[str]) -> None:
    root = FRONTEND_DIR.resolve()
    resolved = resolve_static_path(root, "/" + "/".join(parts))
    assert resolved is None or (resolved.is_file() and resolved.is_relative_to(root))


def test_the_app_module_graph_is_complete() -> None:
    """Every relative import of every frontend module names a file that exists (the app
    has no bundler to catch a typo)."""
    modules = sorted((FRONTEND_DIR / "js").rglob("*.js"))
    assert modules
    pattern = re.compile(r"""(?:from\s+|import\s*\()\s*["'](\.{1,2}/[^"']+)["']""")
    for module in modules:
        for target in pattern.findall(module.read_text()):
            assert (module.parent / target).resolve().is_file(), f"{module}: {target}"
    index = (FRONTEND_DIR / "index.html").read_text()
    for source in re.findall(r'(?:src|href)="([^"#:]+)"', index):
        assert (FRONTEND_DIR / source).is_file(), source


def test_the_vendored_echarts_is_the_one_provenance_describes() -> None:
    vendor = FRONTEND_DIR / "vendor"
    provenance = (vendor / "PROVENANCE.md").read_text()
    digest = hashlib.sha256((vendor / "echarts.min.js").read_bytes()).hexdigest()
    assert f"SHA-256: {digest}" in provenance
    assert "Apache-2.0" in provenance
    version = re.search(r"Version: (\d+\.\d+\.\d+)", provenance)
    assert version is not None
    assert f'version:"{version.group(1)}"' in (vendor / "echarts.min.js").read_text()
