"""The public API: a whole mailing driven from Python, with ``import dispatch`` alone."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

import dispatch
from tests.smtp_server import Sink


@pytest.mark.heavy
def test_a_sample_mailing_is_checked_rendered_sent_and_counted_through_the_api(
    sample_copy: Path, sink: Sink, tmp_path: Path
) -> None:
    mailing = sample_copy / "mailings" / "tsb-352"
    prepared = dispatch.check_mailing(mailing)
    letters = len(prepared.letters)
    assert letters > 2 and {x.lang for x in prepared.letters} == {"fr", "en"}

    rendered = dispatch.render_mailing(mailing, tmp_path / "out", formats=["txt", "eml"])
    assert (rendered.letters, rendered.files) == (letters, 2 * letters)
    assert len(list((tmp_path / "out").rglob("*.eml"))) == letters

    dry = dispatch.send_mailing(mailing, options=dispatch.SendOptions(dry_run=True))
    assert dry.outcome is dispatch.SendOutcome.DRY_RUN and dry.exit_code == 0
    assert dry.plan is not None and len(dry.plan.to_send) == letters
    assert sink.connections() == 0

    shown: list[dispatch.Proposal] = []
    declined = dispatch.send_mailing(
        mailing, settings=sink.settings(), confirm=lambda p: shown.append(p) or False
    )
    assert declined.outcome is dispatch.SendOutcome.DECLINED and declined.exit_code == 1
    assert [p.count for p in shown] == [letters]
    assert sink.recorder.received == []

    events: list[dispatch.DeliveryEvent] = []
    sent = dispatch.send_mailing(
        mailing, settings=sink.settings(timeout=10), confirm=lambda p: True, on_event=events.append
    )
    assert sent.outcome is dispatch.SendOutcome.DELIVERED and sent.exit_code == 0
    assert sent.summary is not None and sent.summary.sent == letters
    assert events[-1].kind == "finished" and events[-1].sent == letters

    accepted = sink.recorder.accepted()
    assert sorted(r.rcpt_tos[0] for r in accepted) == sorted(
        x.addressee.email for x in prepared.letters
    )
    first = email.message_from_bytes(accepted[0].data, policy=email.policy.default)
    assert first["From"] is not None and first["Message-ID"] == accepted[0].message_id

    status = dispatch.mailing_status(mailing)
    assert status.started and status.counts["sent"] == letters == status.total
    assert status.problems == ()

    again = dispatch.send_mailing(mailing, settings=sink.settings())
    assert again.outcome is dispatch.SendOutcome.SETTLED and again.exit_code == 0
    assert len(sink.recorder.accepted()) == letters  # nobody twice

    report = dispatch.report_mailing(mailing, tmp_path / "report.xlsx")
    assert report.rows == letters and report.path.is_file()


def test_problems_come_back_as_one_error_listing_each(sample_copy: Path) -> None:
    mailing = sample_copy / "mailings" / "tsb-352"
    with pytest.raises(dispatch.InvalidInput) as raised:
        dispatch.check_mailing(
            mailing, dispatch.Selection(only=("nobody@example.org",), category=("ZZ",))
        )
    texts = [str(p) for p in raised.value.problems]
    assert any('has no addressee "nobody@example.org"' in t for t in texts)
    assert any("has no category ZZ" in t for t in texts)
    assert isinstance(raised.value, dispatch.DispatchError) and raised.value.exit_code == 2


def test_an_unknown_format_is_bad_input_not_a_crash(sample_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(dispatch.InvalidInput, match="docx"):
        dispatch.render_mailing(
            sample_copy / "mailings" / "tsb-352", tmp_path / "out", formats=["docx"]
        )
    assert not (tmp_path / "out").exists()


def test_a_status_before_any_send_says_nothing_started(sample_copy: Path) -> None:
    status = dispatch.mailing_status(sample_copy / "mailings" / "tsb-352")
    assert not status.started and status.counts == {} and status.total == 0
    assert status.journal == dispatch.journal_path(status.mailing)


def test_the_api_names_are_exported_and_typed() -> None:
    for name in dispatch.__all__:
        assert getattr(dispatch, name) is not None, name
    assert set(dispatch.__all__) <= set(dir(dispatch))
