"""Translate Shopify's segment query language into seglift's condition JSON.

Merchants can paste a query from Shopify's customer segment editor, e.g.
``number_of_orders >= 2 AND last_order_date > -90d AND customer_tags CONTAINS 'vip'``.
Supported (Shopify attribute -> seglift):

    number_of_orders                  -> order_count (= != < <= > >= BETWEEN)
    amount_spent                      -> total_spent
    first_order_date, last_order_date -> same-named features (dates, see below)
    customer_added_date               -> customer_created_date
    customer_tags CONTAINS / NOT CONTAINS 'x'        -> has_tag / not has_tag
    email_subscription_status = 'SUBSCRIBED'         -> email_marketing_state
    customer_account_status = 'ENABLED'              -> account_state
    rfm_group = 'CHAMPIONS'                          -> rfm_group
    customer_countries CONTAINS 'US'                 -> country_code = 'US'
    customer_regions CONTAINS 'US-NY'                -> country_code + province_code
    customer_email_domain = 'example.com'            -> email contains '@example.com'
    products_purchased(id: 1 | (1, 2), date: -30d) = true|false
                                                     -> bought product_id (within_days)
    orders_placed(count_at_least: 2, count_at_most: 5, date: -90d) = true|false
                                                     -> bought (any order) at_least/at_most
    IS NULL / IS NOT NULL on any supported attribute; AND, OR, parentheses (AND first).

Dates: ``'2024-05-01'`` (quoted or not), offsets ``-30d``, ``-4w``, ``-6m``, ``-1y`` and
named ``30_days_ago``/``today``/``yesterday``. Offsets count whole days back from the
evaluation day; a month is taken as 30 days and a year as 365 (Shopify uses calendar
months; this differs by at most a few days at month ends). ``date: -30d`` in a function
means "on or after 30 days ago" (``within_days: 31``, i.e. today and the 30 days before).

Anything else (abandoned_checkout_date, predicted_spend_tier, shopify_email.*, ...)
raises ``ConditionError`` naming the attribute and the supported list; positions in
errors are 0-based character offsets into the query. No pyarrow here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from seglift.segments.conditions import MAX_DEPTH, Condition, ConditionError, validate_condition

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      |(?P<op>>=|<=|!=|=|<|>)
      |(?P<punct>[(),:])
      |(?P<offset>-\d+[dwmy]\b)
      |(?P<word_named>\d+_[A-Za-z_]+\b)
      |(?P<isodate>\d{4}-\d{2}-\d{2}\b)
      |(?P<number>-?\d+(?:\.\d+)?\b)
      |(?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)
# Longer numbers cannot be stored anyway (int64 has 19 digits); refused before int().
_MAX_NUMBER_DIGITS = 20
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
_NAMED_DAYS = {"today": 0, "yesterday": 1}
_SIMPLE = {
    "number_of_orders": ("order_count", "integer"),
    "amount_spent": ("total_spent", "number"),
    "first_order_date": ("first_order_date", "date"),
    "last_order_date": ("last_order_date", "date"),
    "customer_added_date": ("customer_created_date", "date"),
    "email_subscription_status": ("email_marketing_state", "enum"),
    "customer_account_status": ("account_state", "enum"),
    "rfm_group": ("rfm_group", "enum"),
}
_SPECIAL = ("customer_tags", "customer_countries", "customer_regions", "customer_email_domain",
            "products_purchased", "orders_placed")
SUPPORTED_ATTRIBUTES = tuple(_SIMPLE) + _SPECIAL
_FUNCTION_ARGUMENTS = {"products_purchased": ("id", "date"),
                       "orders_placed": ("count_at_least", "count_at_most", "date")}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def _tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if not match:
            raise ConditionError(f"unexpected character {query[pos]!r}", f"position {pos}")
        if match.lastgroup != "ws":
            kind = "word" if match.lastgroup == "word_named" else match.lastgroup or ""
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(query)))
    return tokens


def _check_nesting(tokens: list[Token]) -> None:
    """Refuse parentheses nested deeper than a condition may be, before the recursive
    descent parser would recurse once per level."""
    depth = 0
    for token in tokens:
        if token.kind != "punct":
            continue
        if token.text == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise ConditionError(
                    f"the query nests parentheses more than {MAX_DEPTH} levels deep: "
                    "simplify it", f"position {token.pos}")
        elif token.text == ")":
            depth = max(depth - 1, 0)


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokenize(query)
        _check_nesting(self.tokens)
        self.i = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, message: str, token: Token | None = None) -> ConditionError:
        return ConditionError(message, f"position {(token or self.token).pos}")

    def keyword(self, *words: str) -> bool:
        token = self.token
        if token.kind == "word" and token.text.upper() == words[0]:
            saved = self.i
            for word in words:
                if not (self.token.kind == "word" and self.token.text.upper() == word):
                    self.i = saved
                    return False
                self.advance()
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.token
        if token.kind != kind or (text is not None and token.text != text):
            raise self.error(f"expected {text or kind}, found {token.text or 'end of query'!r}")
        return self.advance()

    # expr := term (OR term)* ; term := factor (AND factor)*
    def parse(self) -> Condition:
        condition = self.expr()
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.token.text!r}: join clauses with AND or OR")
        return condition

    def expr(self) -> Condition:
        parts = [self.term()]
        while self.keyword("OR"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else {"or": parts}

    def term(self) -> Condition:
        parts = [self.factor()]
        while self.keyword("AND"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else {"and": parts}

    def factor(self) -> Condition:
        if self.token.kind == "punct" and self.token.text == "(":
            self.advance()
            inner = self.expr()
            self.expect("punct", ")")
            return inner
        return self.clause()

    def clause(self) -> Condition:
        token = self.token
        if token.kind != "word":
            raise self.error(f"expected an attribute name, found {token.text or 'end'!r}")
        name = self.advance().text.lower()
        if name not in SUPPORTED_ATTRIBUTES:
            raise self.error(
                f"attribute {name!r} is not supported by seglift; supported: "
                f"{', '.join(SUPPORTED_ATTRIBUTES)}",
                token,
            )
        if name in ("products_purchased", "orders_placed"):
            return self.function_clause(name, token)
        if self.keyword("IS", "NOT", "NULL"):
            return self.null_clause(name, token, negate=True)
        if self.keyword("IS", "NULL"):
            return self.null_clause(name, token, negate=False)
        if name in _SIMPLE:
            return self.simple_clause(name)
        return self.list_clause(name, token)

    def null_clause(self, name: str, token: Token, negate: bool) -> Condition:
        if name not in _SIMPLE:
            raise self.error(f"IS NULL is not supported on {name!r}", token)
        feature = _SIMPLE[name][0]
        return {"feature": feature, "op": "is not null" if negate else "is null"}

    def simple_clause(self, name: str) -> Condition:
        feature, kind = _SIMPLE[name]
        if self.keyword("BETWEEN"):
            low = self.value(kind)
            if not self.keyword("AND"):
                raise self.error("BETWEEN needs 'low AND high'")
            high = self.value(kind)
            return {"feature": feature, "op": "between", "value": [low, high]}
        op_token = self.token
        if op_token.kind != "op":
            raise self.error(f"expected an operator (= != < <= > >= BETWEEN) after {name!r}")
        self.advance()
        value = self.value(kind)
        if kind == "enum":
            if op_token.text not in ("=", "!="):
                raise self.error(f"{name!r} only supports = and !=", op_token)
            value = value.upper()
        return {"feature": feature, "op": op_token.text, "value": value}

    def list_clause(self, name: str, token: Token) -> Condition:
        negate = self.keyword("NOT", "CONTAINS")
        if not negate and not self.keyword("CONTAINS"):
            if name == "customer_email_domain" and self.token.text in ("=", "!="):
                negate = self.advance().text == "!="
            else:
                raise self.error(f"{name!r} supports CONTAINS and NOT CONTAINS")
        value = self.value("string")
        if name == "customer_tags":
            condition: Condition = {"has_tag": value}
        elif name == "customer_countries":
            condition = {"feature": "country_code", "op": "=", "value": value.upper()}
        elif name == "customer_email_domain":
            condition = {"feature": "email", "op": "contains", "value": "@" + value.lower()}
        else:
            country, _, province = value.upper().partition("-")
            if not province:
                raise self.error(f"region {value!r} should look like 'US-NY'", token)
            condition = {"and": [
                {"feature": "country_code", "op": "=", "value": country},
                {"feature": "province_code", "op": "=", "value": province},
            ]}
        return {"not": condition} if negate else condition

    def function_clause(self, name: str, token: Token) -> Condition:
        args: dict[str, Any] = {}
        if self.token.text == "(":
            self.advance()
            while True:
                key_token = self.expect("word")
                key = key_token.text.lower()
                if key not in _FUNCTION_ARGUMENTS[name]:
                    raise self.error(f"{name} argument {key!r} is not supported; use "
                                     f"{list(_FUNCTION_ARGUMENTS[name])}", key_token)
                self.expect("punct", ":")
                args[key] = self.argument(key)
                if self.token.text == ",":
                    self.advance()
                    continue
                self.expect("punct", ")")
                break
        op = self.expect("op")
        if op.text not in ("=", "!="):
            raise self.error(f"{name}(...) is compared with = true or = false", op)
        truth = self.expect("word").text.lower()
        if truth not in ("true", "false"):
            raise self.error("expected true or false")
        bought = self.bought_spec(name, args, token)
        holds = (truth == "true") == (op.text == "=")
        return {"bought": bought} if holds else {"not": {"bought": bought}}

    def argument(self, key: str) -> Any:
        if self.token.text == "(":
            self.advance()
            values = [self.value("integer")]
            while self.token.text == ",":
                self.advance()
                values.append(self.value("integer"))
            self.expect("punct", ")")
            return values
        return self.value("date" if key == "date" else "integer")

    def days(self, digits: str, unit: int, token: Token) -> int:
        """A relative date's days; bounded here so a 400-digit offset is never multiplied."""
        if len(digits) > _MAX_NUMBER_DIGITS:
            raise self.error(f"{token.text} is too far back: use a smaller offset", token)
        return int(digits) * unit

    def bought_spec(self, name: str, args: dict[str, Any], token: Token) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if name == "products_purchased":
            if "id" not in args:
                raise self.error("products_purchased needs id: <product id>", token)
            spec["product_id"] = args["id"]
        else:
            if "count_at_least" in args:
                spec["at_least"] = args["count_at_least"]
            if "count_at_most" in args:
                spec["at_most"] = args["count_at_most"]
        if "date" in args:
            when = args["date"]
            if isinstance(when, dict):
                spec["within_days"] = when["days_ago"] + 1
            else:
                spec["between"] = [when, {"days_ago": 0}]
        return spec

    def value(self, kind: str) -> Any:
        token = self.advance()
        text = token.text
        if kind == "date":
            if token.kind == "offset":
                return {"days_ago": self.days(text[1:-1], _UNIT_DAYS[text[-1]], token)}
            if token.kind == "word":
                named = text.lower()
                if named in _NAMED_DAYS:
                    return {"days_ago": _NAMED_DAYS[named]}
                match = re.fullmatch(r"(\d+)_(day|week|month|year)s?_ago", named)
                if match:
                    return {"days_ago": self.days(match[1], _UNIT_DAYS[match[2][0]], token)}
            if token.kind in ("isodate", "string"):
                raw = text.strip("'\"")
                try:
                    return date.fromisoformat(raw).isoformat()
                except ValueError:
                    pass
            raise self.error(f"{text!r} is not a date: use YYYY-MM-DD, -30d or 30_days_ago",
                             token)
        if kind in ("integer", "number"):
            if token.kind != "number":
                raise self.error(f"expected a number, found {text!r}", token)
            if len(text.lstrip("-")) > _MAX_NUMBER_DIGITS:
                raise self.error(f"{text} has too many digits: use at most "
                                 f"{_MAX_NUMBER_DIGITS}", token)
            whole, _, fraction = text.partition(".")
            if fraction.strip("0"):
                if kind == "integer":
                    raise self.error(f"expected a whole number, found {text!r}", token)
                return float(text)
            return int(whole)
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if token.kind == "word":
            return text
        raise self.error(f"expected a quoted value, found {text or 'end of query'!r}", token)


def from_shopify_query(query: str) -> Condition:
    """The condition for a Shopify segment query; ``ConditionError`` for what we lack."""
    if not isinstance(query, str) or not query.strip():
        raise ConditionError("the Shopify query is empty", "position 0")
    text = query.strip()
    if text.upper().startswith("FROM ") or " WHERE " in f" {text.upper()} ":
        # Accept the editor's full form: keep only the WHERE clause.
        match = re.search(r"\bWHERE\b(.*?)(\bORDER\s+BY\b.*)?$", text, re.I | re.S)
        if not match:
            raise ConditionError("found FROM but no WHERE clause", "position 0")
        text = match.group(1)
    condition = _Parser(text).parse()
    return validate_condition(condition)
