"""hyperagent_sdk.SettingsReader: an agent's settings from its environment, each with its default,
and errors that name the variable, what it held and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from hyperagent_sdk import SettingError, SettingsReader

PREFIX = "HYPERAGENT_TEST_"


def reader(**values: str) -> SettingsReader:
    return SettingsReader({PREFIX + key: value for key, value in values.items()}, PREFIX)


def error(reading: Callable[[], object]) -> str:
    """The message of the SettingError that ``reading`` raises."""
    with pytest.raises(SettingError) as raised:
        reading()
    return str(raised.value)


def test_unset_and_blank_variables_take_their_default() -> None:
    read = reader(BLANK="  ")
    for key in ("UNSET", "BLANK"):
        assert read.integer(key, 7) == 7
        assert read.number(key, 0.5) == 0.5
        assert read.text(key, "x") == "x"
        assert read.path(key, Path("/d")) == Path("/d")
        assert read.url(key, "https://a.test/") == "https://a.test/"
        assert read.raw(key) == ""


def test_values_are_read_stripped_and_only_under_the_prefix() -> None:
    read = SettingsReader({PREFIX + "N": " 12 ", "N": "99", PREFIX + "T": "\tpostgres\n"}, PREFIX)
    assert read.name("N") == "HYPERAGENT_TEST_N"
    assert read.integer("N", 1) == 12
    assert read.text("T") == "postgres"
    assert SettingsReader({"N": "99"}).integer("N", 1) == 99


def test_integers_within_their_bounds() -> None:
    read = reader(ZERO="0", PORT="65535", BIG="1_000")
    assert read.integer("ZERO", 5, low=0) == 0
    assert read.integer("PORT", 8000, low=1, high=65535) == 65535
    assert read.integer("BIG", 1) == 1000


@pytest.mark.parametrize(
    ("value", "low", "high", "message"),
    [
        ("0", 1, None, "HYPERAGENT_TEST_N='0' must be a whole number of at least 1"),
        ("many", 1, None, "HYPERAGENT_TEST_N='many' must be a whole number of at least 1"),
        ("2.5", 0, None, "HYPERAGENT_TEST_N='2.5' must be a whole number of at least 0"),
        ("-1", 0, None, "HYPERAGENT_TEST_N='-1' must be a whole number of at least 0"),
        ("65536", 1, 65535, "HYPERAGENT_TEST_N='65536' must be a whole number from 1 to 65535"),
        ("port", 1, 65535, "HYPERAGENT_TEST_N='port' must be a whole number from 1 to 65535"),
    ],
)
def test_an_integer_out_of_bounds_is_named_with_what_is_allowed(
    value: str, low: int, high: int | None, message: str
) -> None:
    assert error(lambda: reader(N=value).integer("N", 5, low=low, high=high)) == message


def test_numbers_within_their_bounds() -> None:
    read = reader(A="0.05", B="30", C="1e-3")
    assert read.number("A", 1.0, low=0.001) == 0.05
    assert read.number("B", 1.0, low=1, high=3600) == 30.0
    assert read.number("C", 1.0, low=0.001) == 0.001


@pytest.mark.parametrize(
    ("value", "high", "message"),
    [
        ("0", None, "HYPERAGENT_TEST_X='0' must be a number of at least 0.001"),
        ("soon", None, "HYPERAGENT_TEST_X='soon' must be a number of at least 0.001"),
        ("nan", None, "HYPERAGENT_TEST_X='nan' must be a number of at least 0.001"),
        ("inf", None, "HYPERAGENT_TEST_X='inf' must be a number of at least 0.001"),
        ("61", 60, "HYPERAGENT_TEST_X='61' must be a number from 0.001 to 60"),
    ],
)
def test_a_number_out_of_bounds_is_named_with_what_is_allowed(
    value: str, high: float | None, message: str
) -> None:
    assert error(lambda: reader(X=value).number("X", 1.0, low=0.001, high=high)) == message


def test_text_may_have_to_match_a_pattern() -> None:
    read = reader(IMAGE="redis:7-alpine", BAD="a b", VERSION="2.7")
    image = re.compile(r"[a-z0-9:.-]+")
    assert read.text("IMAGE", pattern=image) == "redis:7-alpine"
    assert read.text("IMAGE") == "redis:7-alpine"
    assert (
        error(lambda: read.text("BAD", pattern=image, allowed="an image reference"))
        == "HYPERAGENT_TEST_BAD='a b' must be an image reference"
    )
    assert (
        error(lambda: read.text("VERSION", pattern=r"3\.\d+"))
        == "HYPERAGENT_TEST_VERSION='2.7' must be text matching 3\\.\\d+"
    )


def test_a_whole_value_must_match_not_just_its_start() -> None:
    read = reader(VERSION="3.12x")
    assert "must be a version" in error(
        lambda: read.text("VERSION", pattern=r"3\.\d{1,2}", allowed="a version like 3.12")
    )


def test_paths_are_taken_as_given() -> None:
    read = reader(DIR="/srv/reports", REL="reports", HOME="~/x")
    assert read.path("DIR", Path("/d")) == Path("/srv/reports")
    assert read.path("REL", Path("/d")) == Path("reports")
    assert read.path("HOME", Path("/d")) == Path("~/x")


def test_urls_with_an_allowed_scheme_and_a_host() -> None:
    read = reader(OSV="https://osv.test:8443/v1/query", LOCAL="file:///srv/simple")
    assert read.url("OSV") == "https://osv.test:8443/v1/query"
    assert read.url("LOCAL", schemes=("https", "file")) == "file:///srv/simple"


@pytest.mark.parametrize(
    ("value", "schemes", "message"),
    [
        ("http://osv.test/", ("https",), "='http://osv.test/' must be an https:// URL"),
        ("osv.test/v1", ("https",), "='osv.test/v1' must be an https:// URL"),
        ("https:///v1", ("https",), "='https:///v1' must be an https:// URL"),
        ("https://osv.test:99999/", ("https",), "='https://osv.test:99999/' must be an https://"),
        ("https://[::1/", ("https",), "='https://[::1/' must be an https:// URL"),
        (
            "ftp://mirror.test/",
            ("https", "http", "file"),
            "='ftp://mirror.test/' must be an https://, http:// or file:// URL",
        ),
        ("https://a.test/", ("file",), "='https://a.test/' must be a file:// URL"),
    ],
)
def test_a_url_that_is_not_allowed_is_named(
    value: str, schemes: tuple[str, ...], message: str
) -> None:
    got = error(lambda: reader(U=value).url("U", schemes=schemes))
    assert got.startswith("HYPERAGENT_TEST_U" + message)


def test_a_url_error_says_why_when_told() -> None:
    got = error(lambda: reader(U="http://osv.test/").url("U", because="HTTPS only"))
    assert got == "HYPERAGENT_TEST_U='http://osv.test/' must be an https:// URL (HTTPS only)"


def test_an_agent_reports_its_own_kinds_of_setting_the_same_way() -> None:
    err = reader().invalid("PORTS", "80-70", "a range of ports like 8000-8099")
    assert isinstance(err, ValueError)
    assert str(err) == "HYPERAGENT_TEST_PORTS='80-70' must be a range of ports like 8000-8099"
