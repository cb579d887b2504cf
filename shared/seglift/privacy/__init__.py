"""Carrying out Shopify's privacy (GDPR) requests: customer data requests, customer
redaction and shop redaction.

The API records each request (``seglift.storage.privacy_request_repository``); the sync
function runs ``PrivacyProcessor.process_shop`` for a shop before its daily sync (and on
demand), so a redacted customer is gone before anything new is computed from the lake.
"""
