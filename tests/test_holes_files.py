"""Issue 13, holes 11, 13 and 3: files written safely, privately, never over an input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dispatch import output
from dispatch.errors import InvalidInput, OutputError
from dispatch.files import check_output_path, private_dir, write_atomic
from tests.helpers import mode
from tests.mounts import remount_readonly, tmpfs

# -- hole 11: temporary files follow symlinks ------------------------------------------


def test_a_symlink_planted_at_the_temporary_name_does_not_redirect_the_letter(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    name = "dupont.eml"
    # The name the first release used, and every name of this process's counter for a
    # while: all taken by links to the victim.
    (out / f".{name}.{os.getpid()}.tmp").symlink_to(victim)
    for n in range(2000):
        (out / f".{name}.{os.getpid()}.{n}.tmp").symlink_to(victim)

    write_atomic(out / name, b"the letter")

    assert (out / name).read_bytes() == b"the letter"
    assert not (out / name).is_symlink()
    assert victim.read_text(encoding="utf-8") == "precious"


def test_a_symlink_at_the_target_name_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    target = tmp_path / "letter.html"
    target.symlink_to(victim)

    write_atomic(target, b"<p>letter</p>")

    assert not target.is_symlink()
    assert target.read_bytes() == b"<p>letter</p>"
    assert victim.read_text(encoding="utf-8") == "precious"


def test_output_module_still_offers_the_same_write_atomic() -> None:
    assert output.write_atomic is write_atomic


def test_no_temporary_file_is_left_when_a_write_fails(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", size="16k") as disk:
        with pytest.raises(OutputError) as caught:
            write_atomic(disk / "big.pdf", b"x" * 200_000)
        assert list(disk.iterdir()) == []
    assert "big.pdf: cannot be written (No space left on device)" in str(caught.value)
    assert "The disk is full" in str(caught.value)


def test_a_read_only_folder_is_an_output_error_saying_what_to_do(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        remount_readonly(disk)
        with pytest.raises(OutputError) as caught:
            write_atomic(disk / "fr" / "dupont.txt", b"letter")
    message = str(caught.value)
    assert f"{disk / 'fr'}: cannot be written (Read-only file system)" in message
    assert "read-only disk" in message


# -- hole 13: personal data world-readable --------------------------------------------


@pytest.mark.usefixtures("umask_022")
def test_private_files_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    write_atomic(tmp_path / "report.xlsx", b"data", private=True)
    write_atomic(tmp_path / "letter.html", b"data")

    assert mode(tmp_path / "report.xlsx") == 0o600
    assert mode(tmp_path / "letter.html") == 0o644  # not personal: the umask rules


@pytest.mark.usefixtures("umask_022")
def test_private_folders_are_0700_whatever_the_umask(tmp_path: Path) -> None:
    write_atomic(tmp_path / "out" / "fr" / "dupont.eml", b"data", private=True)

    assert mode(tmp_path / "out") == 0o700
    assert mode(tmp_path / "out" / "fr") == 0o700
    assert mode(tmp_path / "out" / "fr" / "dupont.eml") == 0o600


@pytest.mark.usefixtures("umask_022")
def test_private_dir_tightens_a_folder_made_world_readable_by_an_older_version(
    tmp_path: Path,
) -> None:
    mailing = tmp_path / "mailing"
    mailing.mkdir(mode=0o755)
    folder = mailing / ".dispatch"
    folder.mkdir(mode=0o755)
    assert mode(folder) == 0o755

    private_dir(folder)

    assert mode(folder) == 0o700
    assert mode(mailing) == 0o755  # the mailing folder is the user's: left alone


# -- hole 3: report --out overwrites inputs ------------------------------------------


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    files = [tmp_path / name for name in ("mailing.toml", "contacts.xlsx", "annex.pdf")]
    for file in files:
        file.write_bytes(b"input")
    return files


@pytest.mark.parametrize("name", ["mailing.toml", "contacts.xlsx"], ids=["mailing", "workbook"])
def test_an_output_path_that_is_an_input_is_refused(
    tmp_path: Path, inputs: list[Path], name: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_output_path(tmp_path / name, inputs)
    assert f"is one of the mailing's inputs ({tmp_path / name})" in str(caught.value)
    assert "Give --out a new file name" in str(caught.value)


def test_an_input_is_recognised_through_a_link_and_another_spelling(
    tmp_path: Path, inputs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "alias.xlsx").symlink_to(tmp_path / "contacts.xlsx")
    os.link(tmp_path / "contacts.xlsx", tmp_path / "hard.xlsx")
    monkeypatch.chdir(tmp_path)
    for out in (Path("alias.xlsx"), Path("hard.xlsx"), Path("sub/../contacts.xlsx")):
        with pytest.raises(InvalidInput, match="is one of the mailing's inputs"):
            check_output_path(out, inputs)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("report.xlsx", "xlsx"), ("report.csv", "csv"), ("REPORT.CSV", "csv")],
    ids=["xlsx", "csv", "upper-case"],
)
def test_the_suffix_of_the_output_says_its_format(
    tmp_path: Path, inputs: list[Path], name: str, fmt: str
) -> None:
    assert check_output_path(tmp_path / name, inputs) == fmt


@pytest.mark.parametrize("name", ["report.pdf", "report", "report.xls"])
def test_a_suffix_that_cannot_be_written_is_refused(
    tmp_path: Path, inputs: list[Path], name: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_output_path(tmp_path / name, inputs)
    assert "a report is written as .xlsx or .csv" in str(caught.value)


def test_an_output_path_inside_an_input_folder_is_refused(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "fr").mkdir(parents=True)
    with pytest.raises(InvalidInput, match="a folder the mailing is made from"):
        check_output_path(templates / "fr" / "report.xlsx", [templates])


# -- issue 21: where the system has no O_NOFOLLOW (Windows), lstat checks instead -------


@pytest.fixture
def no_o_nofollow(monkeypatch: pytest.MonkeyPatch) -> None:
    from dispatch import files

    monkeypatch.setattr(files, "_NOFOLLOW", 0)
    monkeypatch.setattr(files, "_FLAGS", files._FLAGS & ~os.O_NOFOLLOW)


@pytest.mark.usefixtures("no_o_nofollow")
def test_without_o_nofollow_a_planted_symlink_still_does_not_redirect_the_letter(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    name = "dupont.eml"
    (out / f".{name}.{os.getpid()}.tmp").symlink_to(victim)
    for n in range(2000):
        (out / f".{name}.{os.getpid()}.{n}.tmp").symlink_to(victim)

    write_atomic(out / name, b"the letter", private=True)

    assert (out / name).read_bytes() == b"the letter"
    assert not (out / name).is_symlink()
    assert victim.read_text(encoding="utf-8") == "precious"


# -- issue 21: a render that fails half-way leaves nothing behind ----------------------


def test_a_render_that_fails_half_way_takes_away_the_files_it_wrote(
    sample_copy: Path, tmp_path: Path
) -> None:
    from dispatch.job import check_mailing, render_mailing

    mailing = sample_copy / "mailings" / "tsb-352"
    letters = check_mailing(mailing).letters
    out = tmp_path / "letters"
    # Something of the user's where the last letter would go: its write fails, after
    # every other letter was written.
    last = letters[-1]
    blocker = out / last.lang / f"{last.stem}.txt"
    blocker.mkdir(parents=True)

    with pytest.raises(OutputError, match="cannot be written"):
        render_mailing(mailing, out, formats=["html", "txt", "eml"])

    left = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert left == [last.lang, str(blocker.relative_to(out))]  # the user's, and nothing else
