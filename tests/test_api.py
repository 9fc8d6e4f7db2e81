"""The public API: a whole mailing driven from Python, with ``import dispatch`` alone."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import importlib
import pkgutil
from pathlib import Path

import pytest

import dispatch
from tests.conftest import ROOT
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


@pytest.mark.heavy
def test_approve_archive_and_bounces_are_jobs_of_the_package(
    sample_copy: Path, sink: Sink, tmp_path: Path
) -> None:
    mailing = sample_copy / "mailings" / "tsb-352"
    prepared, approval = dispatch.approve_mailing(mailing, "A. Martin")
    assert isinstance(approval, dispatch.Approval)
    assert len(approval.messages) == len(prepared.letters) and approval.approved_by == "A. Martin"

    sent = dispatch.send_mailing(mailing, settings=sink.settings(timeout=10))
    assert sent.outcome is dispatch.SendOutcome.DELIVERED

    archived = dispatch.archive_mailing(mailing, tmp_path / "record.zip")
    assert isinstance(archived, dispatch.Archived) and archived.path.is_file()

    folder = tmp_path / "bounces"
    folder.mkdir()
    (folder / "reply.eml").write_bytes(
        b"From: someone@example.org\r\nTo: tsb@example.org\r\nSubject: Thanks\r\n\r\nThanks.\r\n"
    )
    found = dispatch.record_bounces(mailing, str(folder))
    assert isinstance(found, dispatch.BouncesRecorded)
    assert (found.found, found.ignored) == (0, 1)  # a reply, not a notification


def _every_module() -> list[str]:
    names = ["dispatch"]
    for info in pkgutil.walk_packages(dispatch.__path__, "dispatch."):
        if not info.name.startswith(("dispatch.cli", "dispatch.__main__")):
            names.append(info.name)
    return names


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_error_a_caller_can_meet_is_exported_and_documented() -> None:
    for name in _every_module():
        importlib.import_module(name)
    errors = {cls for cls in _subclasses(dispatch.DispatchError) if cls.__module__ != "tests"}
    errors = {cls for cls in errors if cls.__module__.startswith("dispatch")}
    missing = sorted(c.__name__ for c in errors if getattr(dispatch, c.__name__, None) is not c)
    assert missing == [], "errors not exported from dispatch"
    package_doc = dispatch.__doc__ or ""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for cls in errors | {dispatch.DispatchError}:
        assert f":class:`{cls.__name__}`" in package_doc, cls.__name__
        assert f"`{cls.__name__}`" in readme, cls.__name__


def test_the_results_are_frozen() -> None:
    # The README says every job returns a frozen result: none can be changed by mistake.
    results = [
        dispatch.Prepared,
        dispatch.Rendered,
        dispatch.Previewed,
        dispatch.Status,
        dispatch.Reported,
        dispatch.SendResult,
        dispatch.Proposal,
        dispatch.Started,
        dispatch.Approval,
        dispatch.Archived,
        dispatch.BouncesRecorded,
        dispatch.DeliverySummary,
        dispatch.DeliveryEvent,
        dispatch.Failure,
        dispatch.SampleResult,
        dispatch.Selection,
        dispatch.SendOptions,
        dispatch.Location,
        dispatch.Problem,
    ]
    for result in results:
        assert dataclasses.is_dataclass(result), result
        assert result.__dataclass_params__.frozen, result.__name__  # type: ignore[attr-defined]
    for model in (dispatch.Mailing, dispatch.SmtpSettings):
        assert model.model_config.get("frozen") is True, model.__name__


def test_the_rule_of_what_is_public_is_stated_where_a_programmer_reads() -> None:
    rule = "Every other module"
    assert rule in (dispatch.__doc__ or "")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "what `dispatch.__all__` lists" in readme
