"""Fixed reference tables the store generator draws from: names, places, traffic channels.

Kept apart from the generator so the behavioural model reads without pages of lists, and
so the CSV importer can map a country code or a province code back to names with the same
tables. Everything is a tuple (immutable, shared by every generated store); weights are
plain relative frequencies that the generator normalises.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_NAMES: tuple[str, ...] = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella",
    "James", "Mia", "William", "Amelia", "Benjamin", "Harper", "Lucas", "Evelyn", "Henry",
    "Abigail", "Alexander", "Emily", "Mason", "Ella", "Michael", "Elizabeth", "Ethan",
    "Camila", "Daniel", "Luna", "Jacob", "Sofia", "Logan", "Avery", "Jackson", "Mila",
    "Sebastian", "Aria", "Jack", "Scarlett", "Aiden", "Priya", "Wei", "Mateo", "Yuki",
    "Fatima", "Omar", "Chloe", "Leo", "Nora", "Hannah",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Flores", "Green", "Patel",
    "Kim", "Chen", "Murphy", "Kelly", "Schmidt", "Rossi", "Silva", "Novak", "Okafor",
)  # fmt: skip

EMAIL_PROVIDERS: tuple[str, ...] = (
    "gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "proton.me",
    "example.com",
)  # fmt: skip
EMAIL_PROVIDER_WEIGHTS: tuple[float, ...] = (45, 12, 12, 14, 8, 3, 6)


@dataclass(frozen=True)
class Place:
    """A customer address as Shopify's MailingAddress reports it, plus the sales-tax rate
    the shop charges there (taxes are added on top of prices, as US shops do)."""

    city: str
    province: str | None
    province_code: str | None
    country: str
    country_code: str
    tax_rate: float
    weight: float


PLACES: tuple[Place, ...] = (
    Place("New York", "New York", "NY", "United States", "US", 0.08875, 9),
    Place("Brooklyn", "New York", "NY", "United States", "US", 0.08875, 5),
    Place("Los Angeles", "California", "CA", "United States", "US", 0.095, 8),
    Place("San Francisco", "California", "CA", "United States", "US", 0.08625, 5),
    Place("San Diego", "California", "CA", "United States", "US", 0.0775, 4),
    Place("Seattle", "Washington", "WA", "United States", "US", 0.1025, 5),
    Place("Portland", "Oregon", "OR", "United States", "US", 0.0, 4),
    Place("Austin", "Texas", "TX", "United States", "US", 0.0825, 4),
    Place("Houston", "Texas", "TX", "United States", "US", 0.0825, 4),
    Place("Dallas", "Texas", "TX", "United States", "US", 0.0825, 3),
    Place("Chicago", "Illinois", "IL", "United States", "US", 0.1025, 6),
    Place("Denver", "Colorado", "CO", "United States", "US", 0.0881, 3),
    Place("Boston", "Massachusetts", "MA", "United States", "US", 0.0625, 4),
    Place("Miami", "Florida", "FL", "United States", "US", 0.07, 3),
    Place("Orlando", "Florida", "FL", "United States", "US", 0.065, 2),
    Place("Atlanta", "Georgia", "GA", "United States", "US", 0.089, 3),
    Place("Phoenix", "Arizona", "AZ", "United States", "US", 0.086, 3),
    Place("Minneapolis", "Minnesota", "MN", "United States", "US", 0.08025, 2),
    Place("Philadelphia", "Pennsylvania", "PA", "United States", "US", 0.08, 3),
    Place("Nashville", "Tennessee", "TN", "United States", "US", 0.0925, 2),
    Place("Charlotte", "North Carolina", "NC", "United States", "US", 0.0725, 2),
    Place("Salt Lake City", "Utah", "UT", "United States", "US", 0.0775, 1),
    Place("Columbus", "Ohio", "OH", "United States", "US", 0.075, 2),
    Place("Detroit", "Michigan", "MI", "United States", "US", 0.06, 2),
    Place("Toronto", "Ontario", "ON", "Canada", "CA", 0.13, 3),
    Place("Vancouver", "British Columbia", "BC", "Canada", "CA", 0.12, 2),
    Place("Montreal", "Quebec", "QC", "Canada", "CA", 0.14975, 1.5),
    Place("Calgary", "Alberta", "AB", "Canada", "CA", 0.05, 1),
    Place("London", None, None, "United Kingdom", "GB", 0.20, 2.5),
    Place("Manchester", None, None, "United Kingdom", "GB", 0.20, 1),
    Place("Sydney", "New South Wales", "NSW", "Australia", "AU", 0.10, 1.5),
    Place("Melbourne", "Victoria", "VIC", "Australia", "AU", 0.10, 1),
    Place("Berlin", None, None, "Germany", "DE", 0.19, 1),
    Place("Amsterdam", None, None, "Netherlands", "NL", 0.21, 0.7),
)

COUNTRY_NAMES: dict[str, str] = {place.country_code: place.country for place in PLACES}


@dataclass(frozen=True)
class Channel:
    """Where a visit came from, in the words of ``CustomerVisit``.

    ``source_type`` is a ``MarketingTactic`` enum value (None for direct traffic: Shopify
    leaves it empty); ``utm_source``/``utm_medium`` are set only for tagged campaign
    traffic; ``campaign`` names the family of ``utm_campaign`` values (see the generator).
    """

    source: str
    source_type: str | None
    referrer_url: str | None
    utm_source: str | None
    utm_medium: str | None
    campaign: str | None
    first_order_weight: float
    repeat_order_weight: float


CHANNELS: tuple[Channel, ...] = (
    Channel("google", "SEO", "https://www.google.com/", None, None, None, 24, 10),
    Channel("google", "AD", "https://www.google.com/", "google", "cpc", "seasonal", 11, 5),
    Channel("facebook", "AD", "https://l.facebook.com/", "facebook", "paid_social",
            "seasonal", 13, 5),
    Channel("instagram", "POST", "https://l.instagram.com/", "instagram", "social",
            "seasonal", 9, 5),
    Channel("email", "NEWSLETTER", None, "newsletter", "email", "newsletter", 6, 33),
    Channel("direct", None, None, None, None, None, 19, 35),
    Channel("tiktok", "AD", "https://www.tiktok.com/", "tiktok", "paid_social", "seasonal",
            10, 4),
    Channel("brewguide.example", "AFFILIATE", "https://brewguide.example/best-beans",
            "brewguide", "affiliate", "affiliate", 8, 3),
)  # fmt: skip

# Seasonal campaign names by calendar month (1-12); the year is appended, e.g.
# "summer_sale_2025". Retailers run one umbrella campaign per season.
SEASONAL_CAMPAIGNS: tuple[str, ...] = (
    "new_year_reset", "new_year_reset", "spring_launch", "spring_launch", "spring_launch",
    "summer_sale", "summer_sale", "summer_sale", "autumn_roast", "autumn_roast", "bfcm",
    "holiday_gifts",
)  # fmt: skip

# Discount codes: a welcome code for first orders, a seasonal code by month, a VIP code.
WELCOME_CODE = ("WELCOME10", 10)
VIP_CODE = ("VIP20", 20)
SEASONAL_CODES: tuple[tuple[str, int], ...] = (
    ("NEWYEAR15", 15), ("NEWYEAR15", 15), ("SPRING10", 10), ("SPRING10", 10),
    ("SPRING10", 10), ("SUMMER20", 20), ("SUMMER20", 20), ("SUMMER20", 20),
    ("FRIEND15", 15), ("FRIEND15", 15), ("BFCM25", 25), ("GIFT15", 15),
)  # fmt: skip

# Customer.state mix: many checkout-created customers never activate an account.
CUSTOMER_STATES: tuple[str, ...] = ("ENABLED", "DISABLED", "INVITED")
CUSTOMER_STATE_WEIGHTS: tuple[float, ...] = (65, 33, 2)

MARKETING_STATES: tuple[str, ...] = ("SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED")
MARKETING_STATE_WEIGHTS: tuple[float, ...] = (42, 43, 15)

# Order.sourceName: the online store dominates; some point-of-sale and draft orders.
ORDER_SOURCES: tuple[str, ...] = ("web", "pos", "shopify_draft_order", "iphone")
ORDER_SOURCE_WEIGHTS: tuple[float, ...] = (90, 4, 2, 4)

# Paid-search keywords (utm_term) for the Google Ads channel.
SEARCH_TERMS: tuple[str, ...] = (
    "specialty coffee beans", "fresh roasted coffee", "pour over coffee", "coffee gift",
    "espresso beans online",
)  # fmt: skip
