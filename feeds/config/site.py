"""``[site]``, ``[categories]`` and ``[identity]``: what the site is called, where it lives, how articles are known."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.config.reader import TableReader, key, type_name
from feeds.config.starter import STARTER
from feeds.core.errors import ConfigError
from feeds.core.identity import DEFAULT_PATTERNS
from feeds.core.safety import normalise_url, safe_url


def http_url(value: Any) -> str:
    """An absolute http(s) URL, with a final slash."""
    if not isinstance(value, str):
        raise TypeError(f"must be a string, not {type_name(type(value))}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
    return value.rstrip("/") + "/"


def _timezone(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"must be a string, not {type_name(type(value))}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'unknown IANA time zone {value!r} (e.g. "Asia/Shanghai")') from None
    return value


def _site_path(value: Any) -> str:
    """A site-relative path or an absolute http(s) URL (``javascript:`` and the like are refused)."""
    if not isinstance(value, str):
        raise TypeError(f"must be a string, not {type_name(type(value))}")
    text = normalise_url(value)
    if ":" in text.split("/", 1)[0] and safe_url(text) is None:
        raise ValueError(f"must be a site path (/category/:slug.html) or an http(s) URL, got {value!r}")
    return value


_AUTHORITY = re.compile(r"(?:[A-Za-z0-9._%+-]+@)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _authority(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("must be a string")
    if not _AUTHORITY.fullmatch(value):
        raise ValueError(f"must be a domain name or an e-mail address (the authority of a tag: URI), got {value!r}")
    return value.lower()


PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net", "example")  # RFC 2606: for examples only


@cache
def _starter_url() -> str:
    """The starter config's own ``site.url`` (``feeds init`` writes it)."""
    try:
        with open(STARTER / "feeds.toml", "rb") as file:
            return http_url(tomllib.load(file)["site"]["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def placeholder_host(host: str) -> bool:
    """Whether ``host`` (or the domain of ``name@host``) is a placeholder: example.com/.org/.net,
    a subdomain of one, or a ``.example`` name."""
    host = host.rpartition("@")[2].lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in PLACEHOLDER_DOMAINS)


def placeholder_url(url: str) -> bool:
    """Whether ``url`` is the starter config's own ``site.url`` or on a placeholder host."""
    if not url:
        return False
    return url.rstrip("/") == _starter_url().rstrip("/") or placeholder_host(urlsplit(url).hostname or "")


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """``[site]``."""

    title: str = key(kind=str)  # required: the site's name
    url: str = key(parse=http_url)  # required: the base URL of the articles' permalinks
    description: str = key("")
    language: str = key("zh-CN")
    timezone: str = key("Asia/Shanghai", parse=_timezone)  # of dates without an offset, and of the pages
    author: str = key("")
    permalink: str = key("/:categories/:year/:month/:day/:title.html", parse=_site_path)
    category_url: str = key("/category/:slug.html", parse=_site_path)
    id_authority: str = key("", parse=_authority)  # tag:<authority>,2000:…; "" until fixed (store.siteids)
    id_base: str = ""  # the site URL post links are keyed with (never set by the config); "" until fixed

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "localhost"

    @property
    def placeholder(self) -> bool:
        """Whether ``url`` is a placeholder (example.com…, the starter's): ids are not fixed to it."""
        return placeholder_url(self.url)

    @property
    def authority(self) -> str:
        """What item and feed ids are made with: fixed once (see :mod:`feeds.store.siteids`)."""
        return self.id_authority or self.host


def read_site(r: TableReader) -> SiteSettings:
    r.known(SiteSettings)  # a misspelt key first: `titel = …` is an unknown key, not a missing title
    for name in ("title", "url"):
        if name not in r.table:
            example = '"https://news.example.com/"' if name == "url" else '"My news"'
            raise r.fail(name, f"is required (e.g. {name} = {example})")
    return r.read(SiteSettings)


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    """``[identity]``: where an article's id (its infoCode) is found."""

    patterns: tuple[str, ...] = key(DEFAULT_PATTERNS, kind=list)  # regexes with a named group "code"


def read_identity(r: TableReader) -> IdentitySettings:
    settings = r.read(IdentitySettings)
    for i, pattern in enumerate(settings.patterns):
        if not isinstance(pattern, str):
            raise r.fail(f"patterns[{i}]", "must be a string")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise r.fail(f"patterns[{i}]", f"bad regular expression: {exc}") from None
        if "code" not in compiled.groupindex:
            raise r.fail(f"patterns[{i}]", "needs a named group (?P<code>...)")
    return IdentitySettings(tuple(settings.patterns))


def read_categories(file: str, table: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """``[categories]``: slug -> the title readers see."""
    out: list[tuple[str, str]] = []
    for slug, label in table.items():
        if not isinstance(label, str):
            raise ConfigError(file, f"must be a string (the display title), not {type_name(type(label))}",
                              key=f"categories.{slug}")  # fmt: skip
        out.append((slug, label))
    return tuple(out)
