"""How many decimals a currency's amounts are written with (ISO 4217 minor units).

Why: money is computed in decimal with three places (averages), but a merchant reads
amounts in their currency's own unit: 2 decimals for USD and EUR, none for JPY, 3 for
KWD. Exports round to these. Source: ISO 4217 (the list of currencies whose minor unit
is not 2, as published by the ISO 4217 maintenance agency's table, read 2026-12); every
other code is written with 2.
"""

from __future__ import annotations

MINOR_UNITS_NOT_TWO: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip


def minor_units(currency: str) -> int:
    """Decimals of ``currency`` (2 for a code not in the exceptions)."""
    return MINOR_UNITS_NOT_TWO.get(currency.upper(), 2)
