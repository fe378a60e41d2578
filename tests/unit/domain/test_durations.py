import pytest

from domain.durations import (
    InvalidDuration,
    format_seconds,
    parse_duration,
    parse_schedule,
    parse_seconds,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60s", 60), ("20m", 1200), ("1h", 3600), ("30d", 2_592_000), (" 0s ", 0), ("7 d", 604_800)],
)
def test_durations_take_s_m_h_d(text: str, seconds: int) -> None:
    assert parse_seconds(text) == seconds
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "60", "1w", "-5s", "1.5h", "s", "10ss", "1h30m"])
def test_anything_else_is_refused_without_guessing_a_unit(text: str) -> None:
    with pytest.raises(InvalidDuration):
        parse_seconds(text)


def test_a_retry_schedule_is_a_comma_separated_list_in_order() -> None:
    assert parse_schedule("10s,20s") == (10, 20)
    assert parse_schedule(" 1d , 3d,7d ") == (86400, 259200, 604800)
    assert parse_schedule("") == ()
    with pytest.raises(InvalidDuration):
        parse_schedule("10s,twenty")


@pytest.mark.parametrize(
    ("seconds", "text"), [(86400, "1d"), (90, "90s"), (120, "2m"), (7200, "2h"), (0, "0s")]
)
def test_format_picks_the_largest_exact_unit_and_round_trips(seconds: int, text: str) -> None:
    assert format_seconds(seconds) == text
    assert parse_seconds(format_seconds(seconds)) == seconds
