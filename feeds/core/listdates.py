"""The dates Chinese news list pages write, read in the site's time zone.  Pure: the clock is an argument.

Absolute forms (``2024-03-04 09:30``, ``2024/03/04``, ``2024年03月04日 09:30``,
``2024.03.04``), the year left out (``03-04 09:30``, ``3月4日``: the current
year, or the last one when that would be in the future), days named
(``今天 09:30``, ``昨天``, ``前天``) and times ago (``刚刚``, ``30秒前``,
``5分钟前``, ``1小时前``, ``3天前``), each found anywhere in the text
(``发布时间：2024-03-04 09:30``).  Full-width digits and colons count.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, tzinfo
from typing import NamedTuple

_TIME = r"(?:\s*T?\s*(?P<h>\d{1,2})[:：时](?P<mi>\d{1,2})(?:[:：分](?P<s>\d{1,2}))?)?"
_FULL = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)日?" + _TIME
)
_SHORT = re.compile(r"(?<![\d\-/.])(?P<mo>\d{1,2})\s*[-/月]\s*(?P<d>\d{1,2})(?!\d)日?" + _TIME)
_NAMED = re.compile(r"(?P<day>今天|今日|昨天|昨日|前天)" + _TIME)
_AGO = re.compile(r"(?P<n>\d+)\s*(?P<unit>秒|分钟|分|小时|个小时|天|日)\s*前")
_UNITS = {"秒": 1, "分钟": 60, "分": 60, "小时": 3600, "个小时": 3600, "天": 86400, "日": 86400}
_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}


class ListDate(NamedTuple):
    """A date read off a list page; ``exact`` False when it was told relative to now (``5分钟前``,
    ``昨天`` without a time): the first one seen should be kept rather than read again."""

    when: datetime
    exact: bool


def _at(day: datetime, match: re.Match[str]) -> tuple[datetime, bool]:
    hour, minute, second = match.group("h"), match.group("mi"), match.group("s")
    if hour is None:
        return day.replace(hour=0, minute=0, second=0, microsecond=0), False
    return day.replace(hour=int(hour), minute=int(minute), second=int(second or 0), microsecond=0), True


def read_list_date(text: str, now: datetime, tz: tzinfo) -> ListDate | None:
    """The date in ``text`` (see the module docstring), or None when there is none or it is impossible."""
    text = unicodedata.normalize("NFKC", text)[:200]
    local_now = now.astimezone(tz)
    try:
        if text.strip() == "刚刚" or text.strip().startswith("刚刚"):
            return ListDate(local_now.replace(microsecond=0), False)
        if match := _AGO.search(text):
            seconds = int(match.group("n")) * _UNITS[match.group("unit")]
            if seconds > 366 * 86400:
                return None
            return ListDate((local_now - timedelta(seconds=seconds)).replace(microsecond=0), False)
        if match := _NAMED.search(text):
            day = local_now - timedelta(days=_DAYS[match.group("day")])
            return ListDate(*_at(day, match))
        if match := _FULL.search(text):
            day = local_now.replace(year=int(match.group("y")), month=int(match.group("mo")), day=int(match.group("d")))
            return ListDate(_at(day, match)[0], True)
        if match := _SHORT.search(text):
            month, dom = int(match.group("mo")), int(match.group("d"))
            day = local_now.replace(month=month, day=dom)
            when, _ = _at(day, match)
            if when > local_now + timedelta(days=1):  # "12-31" read on January 1st: last year's
                when = when.replace(year=when.year - 1)
            return ListDate(when, True)
    except ValueError:  # 02-30, 25:00…
        return None
    return None
