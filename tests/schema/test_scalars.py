"""DateTime values whose UTC time no database driver can represent are input errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from strawberry.exceptions import StrawberryInputCoercionError

from schema.scalars import parse_datetime

PAGE = "query($before: DateTime) { customers(filter: {createdBefore: $before}) { totalCount } }"


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_moments_outside_the_utc_years_1_to_9999_are_refused(value: str) -> None:
    with pytest.raises(StrawberryInputCoercionError, match="Value cannot represent a DateTime"):
        parse_datetime(value)


def test_valid_moments_parse_as_before() -> None:
    assert parse_datetime("2026-03-01T09:30:00Z") == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert parse_datetime("9999-12-31T23:59:59+14:00").utcoffset() == timedelta(hours=14)
    assert parse_datetime("2026-01-01T00:00:00") == datetime(2026, 1, 1)  # naive, as before
    with pytest.raises(StrawberryInputCoercionError, match="Expected a string"):
        parse_datetime(5)


async def test_an_unrepresentable_moment_is_bad_user_input_not_a_500(api) -> None:
    """Found by fuzzing: the driver's OverflowError surfaced as an internal error."""
    body = await api(PAGE, before="9999-12-31T23:59:59-14:00")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$before" in error["message"]
    literal = await api('{ customers(filter: {createdAfter: "0001-01-01T00:00:00+14:00"})'
                        " { totalCount } }")
    assert literal["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
