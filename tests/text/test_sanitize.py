"""The HTML allow-list: what survives, what is stripped, and that nothing raises."""

from __future__ import annotations

import pytest

from kinfolk.text.sanitize import sanitize_html


def test_plain_paragraphs_survive() -> None:
    html = "<p>Hello <strong>bold</strong> <em>em</em><br>line</p><blockquote><p>q</p></blockquote>"
    assert sanitize_html(html) == (
        "<p>Hello <strong>bold</strong> <em>em</em><br>line</p><blockquote><p>q</p></blockquote>"
    )


def test_scripts_styles_and_event_handlers_are_removed() -> None:
    html = sanitize_html(
        '<p onclick="x()">a<script>alert(1)</script><style>p{}</style>'
        '<img src=x onerror="alert(1)"><iframe src="https://e.example">f</iframe></p>'
    )
    assert html == "<p>a</p>"


def test_links_get_rel_and_target_and_keep_safe_classes() -> None:
    html = sanitize_html(
        '<a href="https://e.example/@bob" class="u-url mention evil" rel="me" style="color:red">@bob</a>'
    )
    assert html == (
        '<a href="https://e.example/@bob" class="u-url mention" target="_blank" '
        'rel="nofollow noopener noreferrer">@bob</a>'
    )


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "/relative/path",
        "vbscript:x",
        "file:///etc",
    ],
)
def test_links_with_unsafe_targets_become_text(href: str) -> None:
    assert (
        sanitize_html(f'<p><a href="{href}">click <span>me</span></a></p>') == "<p>click <span>me</span></p>"
    )


def test_span_classes_are_filtered_to_mastodons_set() -> None:
    html = sanitize_html('<span class="invisible h-card ellipsis hidden big">x</span>')
    assert html == '<span class="invisible h-card ellipsis">x</span>'
    assert sanitize_html('<span class="evil">x</span>') == "<span>x</span>"


def test_lists_keep_only_numeric_attributes() -> None:
    assert sanitize_html('<ol start="3" reversed><li value="x">a</li></ol>') == (
        '<ol start="3" reversed=""><li>a</li></ol>'
    )


@pytest.mark.parametrize(
    "html",
    [
        "<math><mi>x</mi><annotation encoding='application/x-tex'>x</annotation></math>",
        "<svg><script>alert(1)</script></svg>",
        "<p><a href='https://a.example'><a href='https://b.example'>nested</a></a>",
        "<" * 1000 + "p>" * 1000,
        "<table><tr><td><p>cell",
        "\x00\ufffe<p>odd</p>",
    ],
)
def test_malformed_input_never_raises_and_never_leaks_markup(html: str) -> None:
    out = sanitize_html(html)
    assert "<script" not in out
    assert "<svg" not in out
    assert "<math" not in out


def test_empty() -> None:
    assert sanitize_html("") == ""
