"""WeasyPrint's system libraries (Pango, HarfBuzz...): only the PDF needs them.

WeasyPrint loads them when it is imported, through cffi: a missing one is an
:class:`OSError` there, which :func:`load_weasyprint` turns into a
:class:`PdfLibraryMissing` that names the library and where the install instructions
are, instead of a traceback. Everything but the PDF works without them.
"""

from __future__ import annotations

from dispatch.errors import OutputError

__all__ = ["WEASYPRINT_INSTALL", "PdfLibraryMissing", "load_weasyprint"]

#: Where WeasyPrint says how to install its system libraries (Pango, HarfBuzz...) on each
#: system; the README's "Install" section says the same in short.
WEASYPRINT_INSTALL = "https://doc.courtbouillon.org/weasyprint/stable/first_steps.html"


class PdfLibraryMissing(OutputError):
    """A system library the PDF engine (WeasyPrint) needs is not installed.

    Only the PDF needs them: ``render --format html,txt,eml`` with ``attach_pdf = false``
    in the mailing file works without them.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            "The PDF cannot be made: a system library that WeasyPrint (dispatch's PDF engine) "
            f"needs is missing ({reason}). Install WeasyPrint's libraries as the README's "
            f'"Install" section says for your system (or see {WEASYPRINT_INSTALL}), or leave '
            "the PDF out: --format html,txt,eml and attach_pdf = false in the mailing file."
        )


def load_weasyprint() -> None:
    """Import WeasyPrint, which loads Pango and its friends through ctypes/cffi: a missing
    library is an :class:`OSError` at import, turned here into :class:`PdfLibraryMissing`."""
    try:
        import weasyprint  # noqa: F401
    except OSError as error:
        raise PdfLibraryMissing(str(error).splitlines()[0] if str(error) else "") from None
