"""The calendar invitation: read back with icalendar, the meeting is at the right instant,
in its own time zone, with a UID and bytes that do not change from one run to the next."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from dispatch.ics import build_ics, event_uid, link_label
from dispatch.mailing import Mailing

MEETING_PAGE = "https://www.itu.int/en/ITU-T/ssc/united/Pages/202112/meeting.aspx"
REGISTRATION = "https://www.itu.int/net4/CRM/xreg/web/Registration.aspx?Event=C-00009012"

# The sixth U4SSC meeting of circular TSB 352: virtual, one day, 10:00–15:30 in Geneva.
U4SSC: dict[str, Any] = {
    "name": {
        "fr": "Sixième réunion de l'initiative U4SSC",
        "en": "Sixth meeting of the U4SSC initiative",
    },
    "start": date(2021, 12, 7),
    "start_time": time(10, 0),
    "end_time": time(15, 30),
    "timezone": "Europe/Zurich",
    "virtual": True,
    "links": {"web": MEETING_PAGE, "registration": REGISTRATION},
}

# WTDC-21 (CMDT-21): in Kigali, 6 to 16 June 2022, no hours given.
WTDC: dict[str, Any] = {
    "name": {
        "fr": "Conférence mondiale de développement des télécommunications (CMDT-21)",
        "en": "World Telecommunication Development Conference (WTDC-21)",
    },
    "start": date(2022, 6, 6),
    "end": date(2022, 6, 16),
    "timezone": "Africa/Kigali",
    "venue": {"fr": "Kigali Convention Centre", "en": "Kigali Convention Centre"},
    "city": {"fr": "Kigali", "en": "Kigali"},
    "country": {"fr": "Rwanda", "en": "Rwanda"},
}


def make_mailing(event: dict[str, Any] | None, **fields: Any) -> Mailing:
    data: dict[str, Any] = {
        "template": "invitation" if event is not None else "consultation",
        "reference": {"fr": "Circulaire TSB 352", "en": "TSB Circular 352"},
        "date": date(2021, 10, 13),
        "place": {"fr": "Genève", "en": "Geneva"},
        "unit": {
            "fr": ["Bureau de la normalisation des télécommunications"],
            "en": ["Telecommunication Standardization Bureau"],
        },
        "addressees": {"to": ["etats-membres"]},
        "subject": {"fr": "Sixième réunion U4SSC", "en": "Sixth U4SSC meeting"},
        "signatories": [{"name": "Chaesub Lee"}],
        "sender": {"email": "tsbevents@itu.int"},
    }
    if event is not None:
        data["event"] = event
    else:
        data["deadline"] = {"date": date(2023, 9, 12), "time": time(23, 59)}
    data.update(fields)
    return Mailing.model_validate(data)


def parse(ics: bytes | None) -> Calendar:
    assert ics is not None
    return Calendar.from_ical(ics)


def only_event(calendar: Calendar) -> Any:
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def test_a_virtual_meeting_is_timed_in_its_own_zone() -> None:
    vevent = only_event(parse(build_ics(make_mailing(U4SSC), "fr")))
    start, end = vevent.decoded("DTSTART"), vevent.decoded("DTEND")
    assert start.astimezone(UTC) == datetime(2021, 12, 7, 9, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2021, 12, 7, 14, 30, tzinfo=UTC)
    assert vevent["DTSTART"].params["TZID"] == "Europe/Zurich"
    assert vevent["DTEND"].params["TZID"] == "Europe/Zurich"


@pytest.mark.parametrize(
    ("day", "start", "zone", "utc_start"),
    [
        (date(2021, 12, 7), time(10, 0), "Europe/Zurich", datetime(2021, 12, 7, 9, 0)),
        (date(2022, 6, 7), time(10, 0), "Europe/Zurich", datetime(2022, 6, 7, 8, 0)),
        # Partner2Connect, circular BDT/DIR/105: 8:30 in New York (EDT, UTC-4).
        (date(2021, 9, 20), time(8, 30), "America/New_York", datetime(2021, 9, 20, 12, 30)),
        (date(2022, 1, 20), time(8, 30), "America/New_York", datetime(2022, 1, 20, 13, 30)),
        (date(2022, 3, 1), time(9, 0), "Asia/Kolkata", datetime(2022, 3, 1, 3, 30)),
        (date(2022, 1, 10), time(9, 0), "Australia/Sydney", datetime(2022, 1, 9, 22, 0)),
    ],
    ids=[
        "zurich-winter",
        "zurich-summer",
        "new-york-summer",
        "new-york-winter",
        "kolkata-half-hour",
        "sydney-day-before-in-utc",
    ],
)
def test_start_in_utc_follows_the_zone_and_its_summer_time(
    day: date, start: time, zone: str, utc_start: datetime
) -> None:
    event = {**U4SSC, "start": day, "start_time": start, "end_time": time(17, 0), "timezone": zone}
    vevent = only_event(parse(build_ics(make_mailing(event), "en")))
    assert vevent.decoded("DTSTART").astimezone(UTC) == utc_start.replace(tzinfo=UTC)
    assert vevent["DTSTART"].params["TZID"] == zone


def test_the_calendar_carries_the_zone_definition() -> None:
    calendar = parse(build_ics(make_mailing(U4SSC), "fr"))
    zones = calendar.timezones
    assert [str(z["TZID"]) for z in zones] == ["Europe/Zurich"]
    # Read on its own (not looked up by name), the VTIMEZONE gives Geneva's offsets.
    tz = zones[0].to_tz(lookup_tzid=False)
    assert datetime(2021, 12, 7, 10, 0, tzinfo=tz).utcoffset() == timedelta(hours=1)
    assert datetime(2021, 7, 7, 10, 0, tzinfo=tz).utcoffset() == timedelta(hours=2)


def test_the_file_is_published_not_a_meeting_request() -> None:
    calendar = parse(build_ics(make_mailing(U4SSC), "fr"))
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["VERSION"]) == "2.0"
    assert "PRODID" in calendar


def test_the_summary_is_the_event_name_in_the_letter_language() -> None:
    mailing = make_mailing(U4SSC)
    fr = only_event(parse(build_ics(mailing, "fr")))
    en = only_event(parse(build_ics(mailing, "en")))
    assert str(fr["SUMMARY"]) == "Sixième réunion de l’initiative U4SSC"  # as in the letter
    assert fr["SUMMARY"].params["LANGUAGE"] == "fr"
    assert str(en["SUMMARY"]) == "Sixth meeting of the U4SSC initiative"


@pytest.mark.parametrize(
    ("lang", "location"),
    [
        ("fr", f"Réunion virtuelle\u00a0: {MEETING_PAGE}"),
        ("en", f"Virtual meeting: {MEETING_PAGE}"),
    ],
    ids=["fr", "en"],
)
def test_a_virtual_meeting_is_located_at_its_link(lang: str, location: str) -> None:
    vevent = only_event(parse(build_ics(make_mailing(U4SSC), lang)))
    assert str(vevent["LOCATION"]) == location


def test_a_conference_is_located_at_its_venue() -> None:
    vevent = only_event(parse(build_ics(make_mailing(WTDC), "fr")))
    assert str(vevent["LOCATION"]) == "Kigali Convention Centre, Kigali, Rwanda"
    assert "URL" not in vevent


def test_the_links_are_in_url_and_description() -> None:
    vevent = only_event(parse(build_ics(make_mailing(U4SSC), "en")))
    assert str(vevent["URL"]) == MEETING_PAGE
    description = str(vevent["DESCRIPTION"])
    assert "Ref.: TSB Circular 352" in description
    assert f"Website: {MEETING_PAGE}" in description
    assert f"Registration: {REGISTRATION}" in description


def test_the_meeting_page_wins_over_a_general_link_listed_first() -> None:
    links = {"initiative": "http://www.itu.int/en/ITU-T/ssc/united", "meeting": MEETING_PAGE}
    vevent = only_event(parse(build_ics(make_mailing({**U4SSC, "links": links}), "fr")))
    assert str(vevent["URL"]) == MEETING_PAGE
    assert str(vevent["LOCATION"]).endswith(MEETING_PAGE)
    assert "Initiative\u00a0: http://www.itu.int/en/ITU-T/ssc/united" in str(vevent["DESCRIPTION"])


def test_the_uid_is_stable_and_the_same_in_every_language() -> None:
    mailing = make_mailing(U4SSC)
    first = only_event(parse(build_ics(mailing, "fr")))
    again = only_event(parse(build_ics(make_mailing(U4SSC), "fr")))
    english = only_event(parse(build_ics(mailing, "en")))
    assert str(first["UID"]) == str(again["UID"]) == str(english["UID"]) == event_uid(mailing)
    assert str(first["UID"]).endswith("@dispatch")


def test_another_circular_or_another_day_has_another_uid() -> None:
    base = event_uid(make_mailing(U4SSC))
    other_reference = make_mailing(U4SSC, reference={"fr": "Circulaire TSB 353"})
    other_day = make_mailing({**U4SSC, "start": date(2021, 12, 8)})
    assert len({base, event_uid(other_reference), event_uid(other_day)}) == 3


def test_the_file_is_the_same_bytes_on_every_build() -> None:
    assert build_ics(make_mailing(U4SSC), "fr") == build_ics(make_mailing(U4SSC), "fr")
    assert build_ics(make_mailing(WTDC), "en") == build_ics(make_mailing(WTDC), "en")


def test_the_stamp_is_the_mailing_date_not_the_clock() -> None:
    vevent = only_event(parse(build_ics(make_mailing(U4SSC), "fr")))
    assert vevent.decoded("DTSTAMP") == datetime(2021, 10, 13, tzinfo=UTC)


def test_a_conference_without_hours_is_all_day_with_an_exclusive_end() -> None:
    calendar = parse(build_ics(make_mailing(WTDC), "en"))
    vevent = only_event(calendar)
    assert vevent.decoded("DTSTART") == date(2022, 6, 6)
    assert vevent.decoded("DTEND") == date(2022, 6, 17)  # the day after the last day
    assert not isinstance(vevent.decoded("DTSTART"), datetime)
    assert calendar.timezones == []
    assert "RRULE" not in vevent


def test_a_one_day_event_without_hours_ends_the_next_day() -> None:
    event = {key: value for key, value in WTDC.items() if key != "end"}
    vevent = only_event(parse(build_ics(make_mailing(event), "en")))
    assert vevent.decoded("DTSTART") == date(2022, 6, 6)
    assert vevent.decoded("DTEND") == date(2022, 6, 7)


def test_several_days_with_hours_are_one_session_a_day() -> None:
    event = {**U4SSC, "start": date(2022, 6, 7), "end": date(2022, 6, 9)}
    vevent = only_event(parse(build_ics(make_mailing(event), "en")))
    assert vevent.decoded("DTSTART").astimezone(UTC) == datetime(2022, 6, 7, 8, 0, tzinfo=UTC)
    assert vevent.decoded("DTEND").astimezone(UTC) == datetime(2022, 6, 7, 13, 30, tzinfo=UTC)
    rule = vevent["RRULE"]
    assert rule["FREQ"] == ["DAILY"]
    assert rule["COUNT"] == [3]


def test_a_session_past_midnight_ends_the_next_day() -> None:
    event = {**U4SSC, "start_time": time(22, 0), "end_time": time(1, 0)}
    vevent = only_event(parse(build_ics(make_mailing(event), "en")))
    assert vevent.decoded("DTEND") - vevent.decoded("DTSTART") == timedelta(hours=3)


def test_a_consultation_has_no_calendar_file() -> None:
    assert build_ics(make_mailing(None), "fr") is None


ZONES = ["Europe/Zurich", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata"]


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2036, 12, 31)),
    hour=st.integers(min_value=7, max_value=20),
    minute=st.sampled_from([0, 15, 30, 45]),
    length=st.integers(min_value=15, max_value=180),
    zone=st.sampled_from(ZONES),
)
def test_any_meeting_is_at_the_same_instant_once_read_back(
    day: date, hour: int, minute: int, length: int, zone: str
) -> None:
    """Whatever the day and zone, the file's start and end are the mailing's local times,
    and the VTIMEZONE shipped with it agrees with the IANA database on the offset."""
    start = time(hour, minute)
    end_at = datetime.combine(day, start) + timedelta(minutes=length)
    event = {
        **U4SSC,
        "start": day,
        "start_time": start,
        "end_time": end_at.time(),
        "timezone": zone,
    }
    calendar = parse(build_ics(make_mailing(event, date=day), "en"))
    vevent = only_event(calendar)
    expected = datetime.combine(day, start, tzinfo=ZoneInfo(zone))
    assert vevent.decoded("DTSTART").astimezone(UTC) == expected.astimezone(UTC)
    assert vevent.decoded("DTEND") - vevent.decoded("DTSTART") == timedelta(minutes=length)
    shipped = calendar.timezones[0].to_tz(lookup_tzid=False)
    local = datetime.combine(day, start, tzinfo=shipped)
    assert local.utcoffset() == expected.utcoffset()


RPM_PAGE = "https://www.itu.int/en/ITU-D/Conferences/WTDC/WTDC21/Pages/RPM.aspx"
# As in the sample cmdt-21: a link key the calendar has no label for, which the letter
# names in its own words.
WTDC_BODY = {
    "rpm": {
        "fr": "Tout est sur le [site web des RPM]({{ event.links.rpm }}).",
        "en": "All is on the [RPM website]({{ event.links['rpm'] }}).",
    }
}


@pytest.mark.parametrize(
    ("lang", "line"),
    [("fr", f"Site web des RPM\u00a0: {RPM_PAGE}"), ("en", f"RPM website: {RPM_PAGE}")],
    ids=["fr", "en"],
)
def test_a_link_the_calendar_does_not_know_is_labelled_with_the_letters_words(
    lang: str, line: str
) -> None:
    mailing = make_mailing({**WTDC, "links": {"rpm": RPM_PAGE}}, body=WTDC_BODY)
    description = str(only_event(parse(build_ics(mailing, lang)))["DESCRIPTION"])
    assert line in description.splitlines()
    assert "Rpm" not in description


@pytest.mark.parametrize(("lang", "label"), [("fr", "Lien"), ("en", "Link")], ids=["fr", "en"])
def test_a_link_nobody_names_has_a_generic_label_in_the_letters_language(
    lang: str, label: str
) -> None:
    mailing = make_mailing({**WTDC, "links": {"rpm": RPM_PAGE}})
    assert link_label(mailing, "rpm", lang) == label
    description = str(only_event(parse(build_ics(mailing, lang)))["DESCRIPTION"])
    assert f"{label}{':' if lang == 'en' else chr(0xA0) + ':'} {RPM_PAGE}" in description


def test_known_link_keys_have_their_own_label_in_each_language() -> None:
    mailing = make_mailing(U4SSC)
    assert [link_label(mailing, "registration", lang) for lang in ("fr", "en")] == [
        "Inscription",
        "Registration",
    ]


def test_the_calendar_texts_have_the_letters_typography() -> None:
    event = {
        **U4SSC,
        "name": {"fr": 'Réunion "Tous unis" de l\'initiative', "en": 'The "United" meeting'},
    }
    fr = only_event(parse(build_ics(make_mailing(event), "fr")))
    en = only_event(parse(build_ics(make_mailing(event), "en")))
    assert str(fr["SUMMARY"]) == "Réunion «\u202fTous unis\u202f» de l\u2019initiative"
    assert str(en["SUMMARY"]) == "The \u201cUnited\u201d meeting"
    assert "Réunion «\u202fTous unis\u202f» de l\u2019initiative" in str(fr["DESCRIPTION"])
    assert str(fr["DESCRIPTION"]).startswith("Réf.\u00a0: Circulaire TSB 352\n")
    assert MEETING_PAGE in str(fr["LOCATION"])  # URLs are left alone


def test_the_calendar_file_is_utf_8() -> None:
    ics = build_ics(make_mailing(U4SSC), "fr")
    assert ics is not None
    assert "Réf.\u00a0: Circulaire".encode() in ics.replace(b"\r\n ", b"")


def test_an_all_day_event_of_several_days_does_not_mark_anyone_busy() -> None:
    assert str(only_event(parse(build_ics(make_mailing(WTDC), "en")))["TRANSP"]) == "TRANSPARENT"
    one_day = {key: value for key, value in WTDC.items() if key != "end"}
    assert str(only_event(parse(build_ics(make_mailing(one_day), "en")))["TRANSP"]) == "OPAQUE"
    assert str(only_event(parse(build_ics(make_mailing(U4SSC), "en")))["TRANSP"]) == "OPAQUE"


def test_a_link_without_a_scheme_is_written_with_https() -> None:
    links = {"website": "www.wsis.org/forum"}
    vevent = only_event(parse(build_ics(make_mailing({**U4SSC, "links": links}), "en")))
    assert str(vevent["URL"]) == "https://www.wsis.org/forum"
    assert str(vevent["LOCATION"]).endswith("https://www.wsis.org/forum")
    assert "https://www.wsis.org/forum" in str(vevent["DESCRIPTION"])
    assert "www.wsis.org/forum" not in str(vevent["DESCRIPTION"]).replace("https://www.", "")
