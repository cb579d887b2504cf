"""A refused request's message names the setting in words; its path is the ``field``."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.validation_errors import describe_validation_error, setting_label


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    customer_id: int = Field(ge=1, le=9007199254740991)
    keep_in_sync: bool = False
    start: date | None = None


def _errors(body: dict[str, Any], source: str = "body") -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        _Options.model_validate(body)
    return [{**e, "loc": (source, *e["loc"])} for e in caught.value.errors()]


def test_a_bound_is_said_in_words_with_the_path_kept_apart():
    field, message = describe_validation_error(_errors({"customer_id": 2**63}, "query"))
    assert field == "customer_id"
    assert message == "Customer id should be less than or equal to 9007199254740991."


def test_a_wrong_type_names_the_setting_not_the_request_part():
    field, message = describe_validation_error(
        _errors({"customer_id": 1, "keep_in_sync": "yes"}))
    assert field == "keep_in_sync"
    assert message == "Keep in sync should be a valid boolean."


def test_missing_and_unknown_settings_say_what_to_do():
    assert describe_validation_error(_errors({}))[1] == "Customer id is required: fill it in."
    message = describe_validation_error(_errors({"customer_id": 1, "colour": "red"}))[1]
    assert message == "“Colour” is not a setting this request takes: remove it."


def test_further_problems_are_counted():
    message = describe_validation_error(
        _errors({"customer_id": 0, "keep_in_sync": "no", "start": 5}))[1]
    assert message == ("Customer id should be greater than or equal to 1"
                       " (and 2 more problems).")


def test_a_list_item_is_named_by_its_list():
    assert setting_label(("body", "groups", 2, "share_percent")) == "Share percent"
    assert setting_label(("body", "groups", 2)) == "Groups"
    assert setting_label(("body",)) == "The request"


def test_a_validators_own_sentence_is_kept():
    errors = [{"type": "value_error", "loc": ("body", "name"),
               "msg": "Value error, Give the segment a name"}]
    assert describe_validation_error(errors) == ("name", "Give the segment a name.")
