"""Issue 13, hole 10: template bombs stop fast, with the field or template and the limit."""

from __future__ import annotations

import time
from pathlib import Path

import jinja2
import jinja2.sandbox
import pytest

from dispatch import sandbox
from dispatch.errors import Location, TemplateError
from dispatch.templates import TemplateSet, render
from tests.test_sandbox_and_paths import (  # noqa: F401 - fixtures
    run,
    site,
    templates,
    with_paragraph,
    with_probe,
)

BOMBS = [
    pytest.param(
        "{% for i in range(100000) %}xxxxxxxxxx{% endfor %}",
        "range() of 100,000 items (at most 10,000)",
        id="range-100000",
    ),
    pytest.param(
        "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
        "the loops of the template turned more than 100,000 times",
        id="nested-loops",
    ),
    pytest.param(
        "{% for i in range(9999) %}{{ 'x' * 99999 }}{% endfor %}",
        "the template produced more than 2,000,000 characters",
        id="output",
    ),
    pytest.param(
        "{{ 'x' | center(1000000000) }}",
        "the center filter with 1,000,000,000 (at most 100,000)",
        id="center-filter",
    ),
    pytest.param(
        "{{ '{:>999999999}'.format(1) }}",
        "format() with a width of a hundred thousand or more",
        id="format-width",
    ),
    pytest.param(
        "{{ '%0999999999d' % 1 }}",
        "the % operator with a width of a hundred thousand or more",
        id="percent-width",
    ),
]


@pytest.mark.parametrize(("bomb", "limit"), BOMBS)
def test_a_bomb_in_a_body_paragraph_stops_fast_naming_the_field_and_the_limit(
    site: Path,  # noqa: F811
    bomb: str,
    limit: str,
) -> None:
    mailing = with_paragraph(site, bomb)
    out = site / "out"
    started = time.monotonic()
    code, output = run("render", mailing, "--contacts", site / "contacts.xlsx", "--out", out)
    assert time.monotonic() - started < 30  # the first release: 9.8 GB in 25 s, or never
    assert code == 2
    assert f"- mailing.toml, field body.intro.fr: stopped: {limit}" in output
    assert "correct the loop or the value it uses" in output
    assert not out.exists()


@pytest.mark.parametrize(("bomb", "limit"), BOMBS[:3])
def test_a_bomb_in_a_template_stops_naming_the_template_and_its_line(
    site: Path,  # noqa: F811
    templates: Path,  # noqa: F811
    bomb: str,
    limit: str,
) -> None:
    mailing, kind = with_probe(site, templates, bomb)
    code, output = run(
        "check", mailing, "--contacts", site / "contacts.xlsx", "--templates", templates
    )
    assert code == 2
    # the output's size is the whole render's: no one line to blame
    where = f"{kind}.html" if "characters" in limit else f"{kind}.html, line 5"
    assert f"- {where}: stopped: {limit}" in output


def _render(source: str) -> str:
    template = TemplateSet().inline(source, "fr", "text", Location(field="body.intro.fr"))
    return render(template, {"items": list(range(5000))})


def test_a_render_that_takes_too_long_stops_with_the_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.0)  # the clock, not a real wait
    with pytest.raises(TemplateError, match=r"took longer than 0 seconds to render"):
        _render("{% for i in items %}{% endfor %}")


def test_legitimate_loops_and_formats_are_unaffected() -> None:
    text = _render(
        "{% for i in items %}{% if loop.last %}{{ loop.index }}{% endif %}{% endfor %} "
        "{{ '{:,}'.format(1234567) }} {{ '%05d' % 42 }} {{ 'ab' | center(6) }} "
        "{{ range(3) | join(',') }}"
    )
    assert text == "5000 1,234,567 00042   ab   0,1,2"


def test_the_budget_is_per_render_not_per_process() -> None:
    for _ in range(30):  # 30 x 5000 turns: more than one render may make
        _render("{% for i in items %}{% endfor %}")


#: Loops of every form, and how many times a render enters one (the inner loop of
#: "nested" twice; a recursive loop calls itself without its items being counted again).
LOOPS = {
    "plain": ("{% for x in items %}{{ x }}{% endfor %}", 1),
    "tuple without brackets": ("{% for x in 1, 2, 3 %}{{ x }}{% endfor %}", 1),
    "filtered": ("{% for x in (items) if x > 1 %}{{ x }}{{ loop.index }}{% endfor %}", 1),
    "through a filter": ("{% for k, v in d.items() | sort %}{{ k }}={{ v }};{% endfor %}", 1),
    "recursive": (
        "{%- for x in [1, [2, 3]] recursive -%}"
        "{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %}{%- endfor %}",
        1,
    ),
    "with else": ("{% for x in range(3) if x in [0, 2] %}{{ x }}{% else %}-{% endfor %}", 1),
    "empty, with else": ("{% for x in [] %}{{ x }}{% else %}none{% endfor %}", 1),
    "raw text": ("{% raw %}{% for y in z %}{% endraw %}", 0),
    "names like keywords": ("{% set for_ = 1 %}{% for in_ in [for_] %}{{ in_ }}{% endfor %}", 1),
    "nested": ("{% for a in d['k'] %}{% for b in a %}{{ b }}{% endfor %}{% endfor %}", 3),
}


@pytest.mark.parametrize(("source", "entered"), LOOPS.values(), ids=LOOPS.keys())
def test_every_loop_is_counted_and_renders_as_in_jinjas_own_sandbox(
    source: str, entered: int
) -> None:
    context = {"items": [1, 2, 3], "d": {"a": 1, "b": 2, "k": [[1, 2], [3]]}}
    counted: list[object] = []

    def probe(items: object) -> object:
        counted.append(items)
        return sandbox._counted(items)  # type: ignore[arg-type]

    ours = sandbox.LetterSandbox(undefined=jinja2.StrictUndefined)
    ours.globals[sandbox._LOOP_GUARD] = probe
    jinja = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    assert ours.from_string(source).render(context) == jinja.from_string(source).render(context)
    assert len(counted) == entered
