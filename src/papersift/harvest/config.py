"""Harvest settings kept in the library, so that every process harvests alike: each web
worker of ``serve --harvest``, ``harvest run`` from cron, and the one-source commands.

Only the settings changed from their defaults are stored (``harvest.settings`` in the paper
store's meta entries, as JSON text values); values are checked when stored and when read,
each problem one line naming the setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

from papersift.library import Library

from .fetcher import HarvestError
from .schedule import parse_schedule
from .settings import HarvestSettings

__all__ = ["SettingError", "load_settings", "save_settings", "settings_from", "stored"]

KEY = "harvest.settings"
_URLS = ("oai_url", "arxiv_api_url", "daily_papers_url")


class SettingError(HarvestError):
    """A harvest setting that cannot be used (one line: its name, and what to write)."""


def _convert(name: str, text: str, kind: type, label: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        what = {int: "a whole number", float: "a number"}.get(kind, kind.__name__)
        raise SettingError(f"{label}{name}={text}: expected {what}") from None
    if kind in (int, float) and value < 0:
        raise SettingError(f"{label}{name}={text}: expected 0 or more")
    if name in _URLS and not str(value).startswith(("http://", "https://")):
        raise SettingError(f"{label}{name}={text}: expected an http(s) URL")
    return value


def _unknown(name: str) -> SettingError:
    return SettingError(f"unknown harvest setting(s): {name}; `papersift harvest config` "
                        "lists them")


def settings_from(values: Mapping[str, str], base: HarvestSettings | None = None, *,
                  label: str = "--setting ") -> HarvestSettings:
    """``base`` (the defaults) with ``NAME: text`` values applied, each checked; the
    schedule must read (:func:`~papersift.harvest.schedule.parse_schedule`). ``label``
    starts the message of a value that is wrong (where it came from)."""
    base = base or HarvestSettings()
    kinds = {f.name: type(getattr(base, f.name)) for f in fields(base)}
    changes: dict[str, Any] = {}
    for name, text in values.items():
        if name not in kinds:
            raise _unknown(name)
        changes[name] = _convert(name, str(text), kinds[name], label)
    settings = base.replace(**changes)
    parse_schedule(settings.schedule)
    return settings


def stored(library: Library) -> dict[str, str]:
    """The settings this library keeps (name: value as text)."""
    text = library.store.get_meta(KEY)
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        value = {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def load_settings(library: Library, changes: Mapping[str, str] | None = None) -> HarvestSettings:
    """The library's harvest settings, with ``changes`` (a command's own) on top."""
    try:
        settings = settings_from(stored(library), label="stored harvest setting ")
    except HarvestError as error:
        raise SettingError(f"{error} (kept in {library.location}; change it with "
                           "`papersift harvest config --setting NAME=VALUE`)") from None
    return settings_from(changes or {}, settings)


def save_settings(library: Library, changes: Mapping[str, str],
                  reset: Iterable[str] = ()) -> HarvestSettings:
    """Store ``changes`` (checked first) and forget the ``reset`` names; returns the
    settings the library now has."""
    values = stored(library)
    for name in reset:
        if name not in {f.name for f in fields(HarvestSettings)}:
            raise _unknown(name)
        values.pop(name, None)
    values.update(changes)
    settings = settings_from(values)
    defaults = HarvestSettings()
    kept = {n: v for n, v in values.items() if getattr(settings, n) != getattr(defaults, n)}
    library.store.set_meta(KEY, json.dumps(kept, sort_keys=True))
    return settings
