"""The calendar invitation (.ics) attached to an invitation letter.

One VEVENT for the mailing's event, in the event's own time zone: the start and end carry
a TZID and the calendar holds the matching VTIMEZONE (generated from the IANA database
by icalendar), so a reader in Geneva, New York or Tokyo sees the meeting at the right
hour. An event without times is an all-day event whose end is the day after its last day
(iCalendar ends are exclusive).

Every text in it (summary, location, description) is in the letter's language, with the
letter's typography (:func:`dispatch.typography.typeset`: ``Réf. :``, ``’``, ``« … »``).
Each link of the description has a label in that language: a known key's own label
(``registration`` → "Inscription"), else the words the letter itself gives that link
(``[site web des RPM]({{ event.links.rpm }})`` → "Site web des RPM"), else "Lien"/"Link".

The file is a pure function of the mailing: the UID is a hash of the mailing's reference
and the event's first day, and DTSTAMP is the mailing's date, so rendering twice gives
the same bytes and a calendar that imports it twice keeps one event. The UID does not
depend on the language either: a person who gets both the French and the English letter
has one meeting in the calendar.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # icalendar is imported by build_ics: no start-up cost for other commands
    from icalendar import Event as VEvent

from dispatch import languages
from dispatch.links import url_target
from dispatch.mailing import Event, Mailing
from dispatch.typography import typeset

__all__ = ["build_ics", "event_uid", "link_label"]

# A Markdown link to one of the event's links in the letter's text:
# [words]({{ event.links.key }}) or [words]({{ event.links["key"] }}).
_LETTER_LINK = re.compile(
    r"\[(?P<words>[^\[\]{}]+)\]\(\s*\{\{\s*event\.links"
    r"(?:\.(?P<attr>\w+)|\[\s*[\'\"](?P<item>[^\'\"]+)[\'\"]\s*\])\s*\}\}\s*\)"
)
# The UID reads the references of the built-in languages, in this order, so that it stays
# what it was when a language is registered later.
_UID_LANGUAGES = ("fr", "en")  # language-literal: the UID's fixed order, as it always was
_PRODID = "-//dispatch//Invitation letters//EN"
# Which of [event.links] is the event's page (URL), and where one joins a virtual meeting
# (LOCATION): the first of these keys the mailing has, else its first link.
_PAGE_KEYS = ("meeting", "event", "website", "web", "page")
_JOIN_KEYS = ("join", "remote", "connection", "webinar", *_PAGE_KEYS)


def event_uid(mailing: Mailing) -> str:
    """A UID for the mailing's event that is the same on every run and in every language.

    Derived from the mailing's reference (every language it has, in a fixed order) and the
    event's first day, so a corrected re-send of the same circular updates the event in
    the addressees' calendars instead of adding a second one.

    >>> event_uid(mailing)  # doctest: +SKIP
    '3f9c2a0d5be14e7a81c6f0d2@dispatch'
    """
    if mailing.event is None:
        raise ValueError("the mailing has no event")
    parts = [mailing.reference.get(lang) for lang in _UID_LANGUAGES if mailing.reference.has(lang)]
    key = "\x1f".join(["dispatch-ics-1", *parts, mailing.event.start.isoformat()])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24] + "@dispatch"


def build_ics(mailing: Mailing, lang: str) -> bytes | None:
    """The .ics file (iCalendar, METHOD:PUBLISH) for the mailing's event, in ``lang``.

    Returns None when the mailing has no event (a consultation): there is nothing to put
    in a calendar, and the caller simply attaches nothing. ``lang`` must be a language
    the mailing is written in (``check_languages`` guarantees the texts exist).
    """
    event = mailing.event
    if event is None:
        return None
    from icalendar import Calendar
    from icalendar import Event as VEvent

    calendar = Calendar()
    calendar.add("prodid", _PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")

    vevent = VEvent()
    vevent.add("uid", event_uid(mailing))
    # Not the clock: the same mailing must give the same bytes on every run.
    vevent.add("dtstamp", datetime.combine(mailing.date, time(0, 0), tzinfo=UTC))
    vevent.add("summary", _typeset(event.name.get(lang), lang), parameters={"LANGUAGE": lang})
    _add_times(vevent, event)
    location = _location(event, lang)
    if location:
        vevent.add("location", _typeset(location, lang), parameters={"LANGUAGE": lang})
    page = _link(event, _PAGE_KEYS)
    if page is not None:
        vevent.add("url", page)
    description = _typeset(_description(mailing, event, lang), lang)
    vevent.add("description", description, parameters={"LANGUAGE": lang})
    vevent.add("status", "CONFIRMED")
    # An all-day event of several days (a conference, a forum) is not a block of busy
    # time: OPAQUE marked the recipients busy for 5 or 11 whole days.
    all_days = event.start_time is None and event.last_day > event.start
    vevent.add("transp", "TRANSPARENT" if all_days else "OPAQUE")
    calendar.add_component(vevent)

    if event.start_time is not None:
        # Only the years around the event: a VTIMEZONE from 1970 to 2038 would be
        # hundreds of lines that no reader needs.
        calendar.add_missing_timezones(
            first_date=date(event.start.year, 1, 1),
            last_date=date(event.last_day.year + 1, 1, 1),
        )
    ical: bytes = calendar.to_ical()
    return ical


def _add_times(vevent: VEvent, event: Event) -> None:
    """DTSTART/DTEND, all-day or timed; several days with hours recur daily."""
    days = (event.last_day - event.start).days + 1
    if event.start_time is None:
        vevent.add("dtstart", event.start)
        vevent.add("dtend", event.last_day + timedelta(days=1))
        return
    zone = ZoneInfo(event.timezone)
    start = datetime.combine(event.start, event.start_time, tzinfo=zone)
    vevent.add("dtstart", start)
    if event.end_time is not None:
        # An end at or before the start is past midnight (a session 22:00–01:00).
        end_day = event.start
        if event.end_time <= event.start_time:
            end_day += timedelta(days=1)
        vevent.add("dtend", datetime.combine(end_day, event.end_time, tzinfo=zone))
    if days > 1:
        # "From 6 to 8 June, 10:00–15:30" is three sessions, not one 54-hour block.
        vevent.add("rrule", {"FREQ": "DAILY", "COUNT": days})


def _location(event: Event, lang: str) -> str:
    """Venue, city, country; or the virtual meeting and its link."""
    place = ", ".join(
        text.get(lang)
        for text in (event.venue, event.city, event.country)
        if text is not None and text.has(lang)
    )
    if not event.virtual:
        return place
    labels = _labels(lang)
    virtual = labels.virtual_meeting
    link = _link(event, _JOIN_KEYS)
    if link is not None:
        virtual = f"{virtual}{labels.colon} {link}"
    return f"{place}; {virtual}" if place else virtual


def _link(event: Event, keys: tuple[str, ...]) -> str | None:
    """The link under the first of ``keys`` the event has, else its first link, else None.

    >>> _link(Event(name=..., start=..., links={"initiative": "a", "meeting": "b"}),
    ...       _PAGE_KEYS)  # doctest: +SKIP
    'b'
    """
    by_key = {key.lower(): url_target(url) for key, url in event.links.items()}
    for key in keys:
        if key in by_key:
            return by_key[key]
    return next(iter(by_key.values()), None)


def _labels(lang: str) -> languages.Labels:
    """The calendar's words in ``lang`` (the registry's labels; English's for an unknown code)."""
    return (languages.get(lang) if languages.is_known(lang) else languages.default()).labels


def _typeset(text: str, lang: str) -> str:
    """The letter's typography, line by line (URLs are left as they are)."""
    return "\n".join(typeset(line, lang) for line in text.split("\n"))


def _letter_words(mailing: Mailing, lang: str) -> dict[str, str]:
    """For each link key, the words the letter's text gives it in ``lang`` (the first)."""
    words: dict[str, str] = {}
    for text in mailing.body.values():
        if not text.has(lang):
            continue
        for match in _LETTER_LINK.finditer(text.get(lang)):
            key = (match["attr"] or match["item"]).lower()
            label = " ".join(match["words"].split())
            if label:
                words.setdefault(key, label[0].upper() + label[1:])
    return words


def link_label(mailing: Mailing, key: str, lang: str) -> str:
    """How the link under ``key`` reads in ``lang``: the usual label of a known key, else
    the letter's own words for it, else "Lien"/"Link" (never the bare key, which read
    "Rpm" for ``rpm``).

    >>> link_label(mailing, "registration", "fr")  # doctest: +SKIP
    'Inscription'
    """
    labels = _labels(lang)
    known = labels.calendar_links.get(key.lower())
    if known is not None:
        return known
    return _letter_words(mailing, lang).get(key.lower(), labels.link)


def _description(mailing: Mailing, event: Event, lang: str) -> str:
    """The reference, the event's name and every link, one per line."""
    lines = []
    if mailing.reference.has(lang):
        labels = _labels(lang)
        lines.append(f"{labels.reference}{labels.colon} {mailing.reference.get(lang)}")
    lines.append(event.name.get(lang))
    if event.links:
        lines.append("")
        for key, url in event.links.items():
            label = link_label(mailing, key, lang)
            lines.append(f"{label}{_labels(lang).colon} {url_target(url)}")
    return "\n".join(lines)
