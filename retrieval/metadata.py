"""Citation fields read from YAML (front matter and `sources.yaml`): short plain text only.

A corpus file is written by anyone, and YAML can say far more than a citation needs:
aliases nested nine deep fit in 558 bytes and expand to gigabytes once a title is
turned into text; 500 nested `[` overflow a recursive loader. So the YAML is read
event by event, without recursion, into mappings, lists and strings. An alias
(`*name`) is refused where it stands (an anchor alone is inert and kept), nesting
deeper than MAX_DEPTH is cut off, tags are ignored, and a scalar stays the text that
was written (`date: 2024-01-02` is that string). Each field is then made printable
(no bidi or control characters) and capped: a bad field is reported and dropped,
never a reason to stop a load.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingStartEvent,
    ScalarEvent,
)

from retrieval.display import printable
from retrieval.models import Problem

META_KEYS = ("title", "outlet", "url", "date")
# Written by the bot into uploaded documents (retrieval/ingest/uploads.py); not citation fields.
PROVENANCE_KEYS = ("added_by", "added_at", "original_name")
# Longest field kept, in characters. A longer title or outlet is cut (it still names
# the source); a longer url or date is dropped, as a cut one would point nowhere.
FIELD_CHARS = {"title": 300, "outlet": 200, "url": 2000, "date": 50}
_CUT_FIELDS = ("title", "outlet")
# sources.yaml needs two levels (file name → fields); a list title is a third.
MAX_DEPTH = 8
# libyaml's parser when PyYAML has it (its wheels do): ten times faster, which
# matters with a front matter block in every file, and it bounds nesting itself.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULLS = ("", "~", "null", "Null", "NULL")


@dataclass(frozen=True, slots=True)
class Refused:
    """A YAML value that was not read, and why: reported where it is used."""

    reason: str


class _Mapping:
    __slots__ = ("items", "key", "keyed")

    def __init__(self) -> None:
        self.items: dict[object, object] = {}
        self.key: object = None
        self.keyed = False


def read_yaml(text: str) -> object:
    """The single YAML document in `text` as dicts, lists, strings, None and Refused.

    Raises yaml.YAMLError when `text` is not YAML (or holds more than one document).
    """
    stack: list[_Mapping | list[object]] = []
    result: list[object] = []
    skipping = 0  # depth inside a collection nested too deep, whose events are dropped
    documents = 0

    def add(value: object) -> None:
        if not stack:
            result.append(value)
            return
        top = stack[-1]
        if isinstance(top, list):
            top.append(value)
        elif not top.keyed:
            hashable = value is None or isinstance(value, str | Refused)
            top.key = value if hashable else Refused("a key that is not plain text")
            top.keyed = True
        else:
            top.items[top.key] = value
            top.keyed = False

    for event in yaml.parse(text, Loader=_LOADER):
        if skipping:
            if isinstance(event, CollectionStartEvent):
                skipping += 1
            elif isinstance(event, CollectionEndEvent):
                skipping -= 1
                if not skipping:
                    add(Refused(f"nested more than {MAX_DEPTH} levels deep"))
        elif isinstance(event, ScalarEvent):
            plain = event.implicit[0] and event.tag is None
            add(None if plain and event.value in _NULLS else event.value)
        elif isinstance(event, AliasEvent):
            add(Refused(f"a YAML alias (*{event.anchor}) is not allowed; write the value out"))
        elif isinstance(event, CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                skipping = 1
            else:
                stack.append(_Mapping() if isinstance(event, MappingStartEvent) else [])
        elif isinstance(event, CollectionEndEvent):
            done = stack.pop()
            # A list holding a refused value is refused with its reason, which tells
            # more than "a list is not plain text"; a mapping keeps it for its key.
            refused = [v for v in done if isinstance(v, Refused)] if isinstance(done, list) else []
            add(done.items if isinstance(done, _Mapping) else refused[0] if refused else done)
        elif isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise yaml.YAMLError("more than one YAML document (a second '---' line)")
    return result[0] if result else None


def clean_fields(
    fields: object, file: str, what: str, problems: list[Problem]
) -> dict[str, str] | None:
    """Citation fields of one entry, printable and capped; bad ones are reported and dropped.

    None when `fields` is not a mapping (the whole entry is reported and ignored).
    """
    if isinstance(fields, Refused):
        problems.append(Problem(file, f"{what} ignored: {fields.reason}"))
        return None
    if not isinstance(fields, dict):
        problems.append(Problem(file, f"{what} is not a mapping of fields, ignored"))
        return None
    meta = {}
    for key, value in fields.items():
        if key in PROVENANCE_KEYS:
            continue
        if key not in META_KEYS:
            known = ", ".join(META_KEYS)
            problems.append(
                Problem(file, f"{what}: unknown key {quoted(key)} ignored (known: {known})")
            )
            continue
        if value is None:
            continue
        text, trouble = clean_field(str(key), value)
        if trouble:
            problems.append(Problem(file, f"{what}: {trouble}"))
        if text:
            meta[str(key)] = text
    return meta


def clean_field(key: str, value: object) -> tuple[str | None, str | None]:
    """(the field's text or None, what was wrong with it or None)."""
    if isinstance(value, Refused):
        return None, f"{key} ignored, {value.reason}"
    if not isinstance(value, str):
        kind = "a list" if isinstance(value, list) else "a mapping"
        return None, f"{key} ignored, {kind} is not plain text"
    text = printable(value).strip()
    limit = FIELD_CHARS[key]
    if len(text) <= limit:
        return text, None
    if key not in _CUT_FIELDS:
        return None, f"{key} ignored, longer than {limit} characters ({len(text):,})"
    return cap(text, limit), f"{key} cut to {limit} characters (it had {len(text):,})"


def cap(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quoted(name: object, limit: int = 60) -> str:
    """A YAML key or file name as a problem reason quotes it: escaped and short."""
    if isinstance(name, Refused):
        return "(a key that is not plain text)"
    text = str(name)
    return repr(text if len(text) <= limit else text[:limit] + "…")
