"""Webhook deliveries carry Shopify's headers and a verifiable HMAC signature."""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devkit.shopify_emulator import deliver_webhook, sign_webhook


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body():
    body = b'{"id": 1}'
    expected = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    assert sign_webhook(body, "secret") == expected
    assert sign_webhook(body, "other") != expected


def test_a_delivery_posts_the_payload_with_shopifys_headers():
    received = {}

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            received["headers"] = dict(self.headers)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        status = deliver_webhook(
            f"http://127.0.0.1:{server.server_address[1]}/webhooks",
            "customers/redact",
            "acme.myshopify.com",
            {"customer": {"id": 7}},
            "s3cret",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert status == 200
    headers = received["headers"]
    assert json.loads(received["body"]) == {"customer": {"id": 7}}
    assert headers["X-Shopify-Topic"] == "customers/redact"
    assert headers["X-Shopify-Shop-Domain"] == "acme.myshopify.com"
    assert headers["X-Shopify-API-Version"] == "2026-10"
    assert headers["X-Shopify-Webhook-Id"] and headers["X-Shopify-Triggered-At"]
    assert headers["X-Shopify-Hmac-Sha256"] == sign_webhook(received["body"], "s3cret")
