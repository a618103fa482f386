"""Ids that survive a move of the site: what item and feed ids are made with, fixed once.

An item's id is ``tag:<authority>,2000:<key>``, and a post without an infoCode
is keyed by its link.  Both would change with ``site.url``: a site that moves
would show every article again as new in every reader.  So the first build of a
store records the authority (the host of ``site.url`` then) and the base URL
post links are keyed with, and every later build uses those, whatever
``site.url`` says now (links follow the new URL; ids do not).  ``[site]
id_authority`` sets the authority explicitly.  A store made before ids were
recorded (or lost) takes both from the combined feed in its output folder.

A placeholder (``news.example.com`` of the starter config, any example.com/.org/.net
or ``.example`` name) is never recorded, nor taken up when found: while ``site.url``
is one, ids follow it, and the first build with a real one fixes them.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

from feeds.config import Settings
from feeds.config.site import placeholder_host, placeholder_url
from feeds.core.text import is_http_url
from feeds.store import Store

AUTHORITY_KEY = "id_authority"
BASE_KEY = "id_base"
_TAG_ID = re.compile(rb"tag:([A-Za-z0-9._%+@-]{1,255}),2000:")


def fix_ids(settings: Settings, store: Store) -> Settings:
    """``settings`` with ``site.id_authority`` and ``site.id_base`` fixed (recorded in ``store`` the first time)."""
    site = settings.site
    if site.id_authority and site.id_base:
        return settings
    held = _held(store)
    record = {}
    if not held[AUTHORITY_KEY] or not held[BASE_KEY]:
        authority, base = _written(settings.output.dir)
        if not held[AUTHORITY_KEY]:
            held[AUTHORITY_KEY] = authority if authority and not placeholder_host(authority) else site.host
            if not placeholder_host(held[AUTHORITY_KEY]):
                record[AUTHORITY_KEY] = held[AUTHORITY_KEY]
        if not held[BASE_KEY]:
            held[BASE_KEY] = base if base and not placeholder_url(base) else site.url
            if not placeholder_url(held[BASE_KEY]):
                record[BASE_KEY] = held[BASE_KEY]
    if record:
        store.set_meta(record)
    return replace(settings, site=replace(site, id_authority=site.id_authority or held[AUTHORITY_KEY],
                                          id_base=site.id_base or held[BASE_KEY]))  # fmt: skip


def placeholder_warning(settings: Settings) -> str | None:
    """Why ``site.url`` will not do when it is a placeholder (ids are not fixed until it is real), else None."""
    if not settings.site.placeholder:
        return None
    return (f'[site] url "{settings.site.url}" is a placeholder: set it to the site\'s real address '
            "(item ids are fixed at the first build with a real one)")


def recorded_authority(settings: Settings, store: Store) -> str:
    """The authority ids are made with, without recording anything (for reading commands)."""
    return recorded_ids(settings, store).site.id_authority


def recorded_ids(settings: Settings, store: Store) -> Settings:
    """``settings`` with the ids' authority and base the builds use, recording nothing (for reading commands)."""
    site, held = settings.site, _held(store)
    return replace(settings, site=replace(site, id_authority=site.id_authority or held[AUTHORITY_KEY] or site.host,
                                          id_base=site.id_base or held[BASE_KEY] or site.url))  # fmt: skip


def _held(store: Store) -> dict[str, str]:
    """The recorded authority and base ("" each when none, or a placeholder an earlier feeds recorded)."""
    authority, base = store.meta(AUTHORITY_KEY) or "", store.meta(BASE_KEY) or ""
    return {AUTHORITY_KEY: "" if placeholder_host(authority) else authority,
            BASE_KEY: "" if placeholder_url(base) else base}  # fmt: skip


def _written(out_dir: os.PathLike[str] | str) -> tuple[str, str]:
    """(authority, site URL) the combined feed in the output folder was written with ("" each when unknown):
    what a store made before ids were recorded, or lost, takes up again."""
    from lxml import etree

    for name in ("atom.xml", "rss.xml"):
        authority = base = ""
        try:
            for _, element in etree.iterparse(os.path.join(out_dir, name), events=("end",), no_network=True,
                                              resolve_entities=False, huge_tree=False):  # fmt: skip
                tag = etree.QName(element).localname
                if tag in ("entry", "item"):
                    break
                text = (element.text or "").encode()
                if tag in ("id", "guid") and not authority and (match := _TAG_ID.match(text)):
                    authority = match.group(1).decode("ascii")
                elif tag == "link" and not base:
                    href = element.get("href") if name == "atom.xml" else element.text
                    if (name == "rss.xml" or element.get("rel") == "alternate") and is_http_url(href or ""):
                        base = href or ""
        except (OSError, etree.LxmlError):
            continue
        if name == "rss.xml" and not authority:  # an RSS channel has no id: its first item's guid
            authority = _first_guid(os.path.join(out_dir, name))
        if authority:
            return authority, base
    return "", ""


def _first_guid(path: str) -> str:
    try:
        with open(path, "rb") as file:
            head = file.read(1 << 16)
    except OSError:
        return ""
    match = _TAG_ID.search(head)
    return match.group(1).decode("ascii") if match else ""
