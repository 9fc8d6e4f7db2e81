"""Files shipped inside the dispatch package, found the one way that works installed.

Every file dispatch carries (the letter templates and their stylesheets, the preview's
page, the sample mailings, the starter of ``dispatch init``) is package data, found
through :mod:`importlib.resources` from the ``dispatch`` package itself: never from the
working directory, and never by climbing from ``__file__`` to a checkout's folders,
which an installed wheel does not have (it holds ``dispatch/_templates/``, not
``templates/``). In a source checkout ``dispatch/_templates`` and ``dispatch/_samples``
link to the repository's ``templates/`` and ``mailings/``; the wheel holds them as files.

>>> package_path("_templates", "email.css").name
'email.css'
>>> package_path("_templates", "print.css").is_file()
True
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

__all__ = ["SAMPLES", "TEMPLATES", "package_path"]


def package_path(*parts: str) -> Path:
    """The path on disk of a file or folder shipped in the ``dispatch`` package.

    dispatch is installed as files (a wheel unpacked into site-packages, or a checkout),
    so the resource is a real path; it is resolved, so that a link in a checkout names
    the file it points to.
    """
    resource = importlib.resources.files("dispatch").joinpath(*parts)
    return Path(str(resource)).resolve()


#: The letter templates dispatch ships (``fr/``, ``en/``, ``print.css``, ``email.css``).
TEMPLATES = package_path("_templates")

#: The sample mailings ``dispatch init --sample`` copies, and their contacts workbook.
SAMPLES = package_path("_samples")
