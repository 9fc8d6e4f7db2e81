"""The passes of rules a language's typography makes, and :func:`typeset`."""

from __future__ import annotations

from dispatch import languages
from dispatch.languages import TypographyRules
from dispatch.typography.flow import Rule, _Flow, _protected
from dispatch.typography.quotes import _en_apostrophes, _fr_apostrophes, _quotes
from dispatch.typography.spacing import (
    _after_number,
    _currency_before,
    _ellipsis,
    _en_no_space_before_marks,
    _fr_colon,
    _fr_numero,
    _fr_semicolon_marks,
    _fr_superscripts,
    _fr_thousands,
    _fr_times,
    _no_break_before_dash,
    _no_space_between_letters,
    _number_ranges,
    _script_punctuation,
)
from dispatch.typography.together import _keep_together, _plain_hyphens


# work; a pass reads the text the passes before it made. "23h59" must become "23 h 59"
# before a range is looked for ("8h30-11h30"); an English apostrophe needs the quotes done.
def _build_passes(code: str, rules: TypographyRules) -> tuple[tuple[Rule, ...], ...]:
    apostrophes = _en_apostrophes if rules.elided_years else _fr_apostrophes
    passes: list[tuple[Rule, ...]]
    if rules.spacing == "french":
        passes = [
            (_fr_superscripts, _after_number(True), _fr_times, _fr_thousands),
            (
                _quotes(rules),
                apostrophes,
                _ellipsis,
                _fr_colon,
                _fr_semicolon_marks,
                _fr_numero,
                _currency_before,
                _number_ranges,
            ),
            (_keep_together(code, dates=False, hyphens=False), _plain_hyphens),
        ]
    else:
        passes = [
            (
                _quotes(rules),
                _ellipsis,
                _en_no_space_before_marks,
                _after_number(False),
                _currency_before,
                _number_ranges,
            ),
            (apostrophes, _keep_together(code, dates=False, hyphens=False), _plain_hyphens),
        ]
    script: list[Rule] = []
    if rules.no_break_before_dash:
        script.append(_no_break_before_dash)
    if rules.punctuation and rules.script:
        script.append(_script_punctuation(rules))
    if script:
        passes.append(tuple(script))
    if rules.no_space_between_letters and rules.script:
        passes.append((_no_space_between_letters(rules),))
    return tuple(passes)


_BUILT: dict[str, tuple[languages.Language, tuple[tuple[Rule, ...], ...]]] = {}


def _passes(lang: str) -> tuple[tuple[Rule, ...], ...]:
    # the language's typography (its language file's [typography]) makes its passes
    if not languages.is_known(lang):
        known = " or ".join(f'"{c}"' for c in languages.codes())
        raise ValueError(f"language {lang!r} is not supported: use {known}")
    language = languages.get(lang)
    built = _BUILT.get(lang)
    if built is None or built[0] is not language:
        built = (language, _build_passes(language.code, language.typography))
        _BUILT[lang] = built
    return built[1]


def typeset(text: str, lang: str) -> str:
    """Plain text with the micro-typography of ``lang``; idempotent.

    >>> typeset('Réf.: la 76^{ème} session, à 23h59 "au plus tard"', "fr")
    'Réf.\\xa0: la 76e session, à 23\\xa0h\\xa059 «\\u202fau plus tard\\u202f»'
    """
    passes = _passes(lang)
    text = str(text)
    flow = _Flow(text, _protected(text))
    for rules in passes:
        flow.apply(rules)
    return flow.text
