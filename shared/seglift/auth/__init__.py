"""Who is calling: Shopify session tokens (the frontend), webhook signatures (Shopify).

Pure functions over bytes and strings, no clients and no pyarrow, so both the API Lambda
and the local cloud (which issues development tokens) can use them.
"""
