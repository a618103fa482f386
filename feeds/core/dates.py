"""Dates as posts and feeds write them -> aware datetimes.

Every form Jekyll accepts (``2022-01-25 20:54:37 +0800`` stays a string in YAML
and is parsed here), YAML timestamps, a date alone, RFC 2822; and feed entries'
dates (ISO 8601 / RFC 3339 / RFC 822 strings, ``2022/01/25 12:54:37 UTC``).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache
from typing import Any

_DATE = re.compile(
    r"\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:(?:[Tt]|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*\Z"
)


@cache
def _offset(text: str) -> tzinfo:
    if text in ("Z", "z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_date(value: object, tz: tzinfo) -> datetime:
    """A front-matter date in any form Jekyll accepts -> aware datetime.

    Raises ValueError with a reason.
    """
    if isinstance(value, datetime):
        # PyYAML gives aware datetimes for timestamps with an offset, naive ones without.
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if not isinstance(value, str):
        raise ValueError(f"date {value!r} is not a date")
    match = _DATE.match(value)
    if match:
        y, mo, d, h, mi, s, frac, off = match.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        try:
            return datetime(
                int(y),
                int(mo),
                int(d),
                int(h or 0),
                int(mi or 0),
                int(s or 0),
                micro,
                tzinfo=_offset(off) if off else tz,
            )
        except ValueError as exc:
            raise ValueError(f"date {value!r} is not a valid date: {exc}") from None
    from email.utils import parsedate_to_datetime  # (posts' dates are ISO-like: not imported for them)

    try:
        parsed = parsedate_to_datetime(value)  # RFC 2822: "Tue, 25 Jan 2022 20:54:37 +0800"
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        raise ValueError(f"date {value!r} is not a date Jekyll understands (e.g. 2022-01-25 20:54:37 +0800)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


# Every instant feeds keeps lies in this range: a day inside what datetime can
# hold, so any UTC offset (±24 h) can be applied to it without overflowing.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def bounded(when: datetime) -> tuple[datetime, str | None]:
    """``when`` clamped to the supported range (:data:`EARLIEST`..:data:`LATEST`), and why, if it was.

    A date whose instant is outside the range (``0001-01-01 00:00:00 +0800`` is
    in year 0 in UTC) is replaced by the nearest bound in UTC.  Never raises.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=UTC)
    try:
        if EARLIEST <= when <= LATEST:
            when.astimezone(UTC)  # the instant itself must exist
            return when, None
    except (OverflowError, ValueError):
        pass
    try:
        early = when.replace(tzinfo=None) - (when.utcoffset() or timedelta()) < EARLIEST.replace(tzinfo=None)
    except (OverflowError, ValueError):
        early = when.year < 5000
    bound = EARLIEST if early else LATEST
    return bound, f"date {when.isoformat()} is out of the supported range; used {bound.date().isoformat()}"


# ---------------------------------------------------------------- feed dates

_SLASH_DATE_RE = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})(.*)")
_UTC_SUFFIX_RE = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)


def _normalise_iso(raw: str) -> str:
    """``2022/01/25 12:54:37 UTC`` -> ``2022-01-25 12:54:37+00:00`` (common in Chinese feeds)."""
    match = _SLASH_DATE_RE.fullmatch(raw)
    if match:
        year, month, day, rest = match.groups()
        raw = f"{year}-{int(month):02d}-{int(day):02d}{rest}"
    return _UTC_SUFFIX_RE.sub("+00:00", raw)


def _parse_raw_date(raw: str) -> datetime | None:
    """An aware datetime from an ISO 8601/RFC 3339 or RFC 822 string, keeping its offset."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(_normalise_iso(raw))
    except (ValueError, OverflowError):
        from email.utils import parsedate_to_datetime

        try:
            value = parsedate_to_datetime(raw)
        except (ValueError, TypeError, IndexError, OverflowError):
            return None
    return value if value.tzinfo is not None else None


def entry_date(entry: Mapping[str, Any], name: str) -> datetime | None:
    """A feed entry's date ``entry[name]`` (feedparser's dict) parsed from the raw string, keeping its
    offset, else feedparser's UTC struct_time ``entry[name + '_parsed']``; bounded to years 1..9999."""
    # dict.get: FeedParserDict maps a missing "updated" to "published" (with a warning).
    raw = dict.get(entry, name)
    if isinstance(raw, str):
        value = _parse_raw_date(raw)
        if value is not None:
            return bounded(value)[0]
    parsed = dict.get(entry, f"{name}_parsed")
    if parsed:
        try:
            return bounded(datetime.fromtimestamp(calendar.timegm(parsed), UTC))[0]
        except (OverflowError, ValueError, OSError, TypeError):
            return None
    return None
