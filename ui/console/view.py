"""Rendering helpers shared by the console pages: escaped HTML for texts, citation links, highlights, badges."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import streamlit as st

from assistant import render
from assistant.records import Answer, Citation, Confidence

CSS = """
<style>
.dp-prose {white-space: pre-wrap; line-height: 1.55; font-size: 0.95rem;}
.dp-draft {white-space: pre-wrap; line-height: 1.6; font-size: 0.97rem; padding: 0.1rem 0.2rem;}
.dp-draft a.dp-cite {text-decoration: none; font-weight: 600; font-size: 0.8rem; vertical-align: super;
  padding: 0 0.15rem; border-radius: 0.25rem; background: rgba(28, 131, 225, 0.12);}
.dp-answer {line-height: 1.6; font-size: 0.97rem; padding: 0.1rem 0.2rem;}
.dp-answer p {margin: 0 0 0.6rem 0;} .dp-answer ol, .dp-answer ul {margin: 0 0 0.6rem 0; padding-left: 1.6rem;}
.dp-answer li {margin: 0.1rem 0;} .dp-answer li::marker {font-weight: 600;}
.dp-answer ul.dp-rows {list-style: none; padding-left: 0.2rem;}
.dp-answer sup {line-height: 0; white-space: nowrap;}
.dp-answer a.dp-cite {text-decoration: none; font-weight: 600; font-size: 0.78rem; padding: 0 0.2rem;
  border-radius: 0.25rem; background: rgba(28, 131, 225, 0.12);}
.dp-reply {white-space: pre-wrap; line-height: 1.55; font-size: 0.95rem; overflow-wrap: anywhere;}
.dp-source {white-space: pre-wrap; line-height: 1.45; font-size: 0.86rem; color: rgba(49, 51, 63, 0.85);}
.dp-source mark {background: #fff1a8; padding: 0 0.1rem; border-radius: 0.15rem; color: inherit;}
.dp-meta {color: rgba(49, 51, 63, 0.65); font-size: 0.82rem;}
[data-testid="stMainBlockContainer"] {padding-top: 3.2rem; padding-bottom: 2rem;}
.dp-conf {display: inline-flex; gap: 0.45rem; align-items: baseline; padding: 0.3rem 0.6rem; border-radius: 0.5rem;
  font-size: 0.86rem; line-height: 1.35;}
.dp-conf b {white-space: nowrap;}
.dp-conf-high {background: #e7f6ec; color: #176c37;}
.dp-conf-medium {background: #fff3df; color: #8a5300;}
.dp-conf-low {background: #fdeaea; color: #a61b1b;}
.dp-subject {font-size: 1.3rem; font-weight: 650; line-height: 1.3; margin: 0.2rem 0 0.1rem 0;}
.dp-kbd {font-family: ui-monospace, monospace; font-size: 0.75rem; border: 1px solid rgba(49, 51, 63, 0.25);
  border-bottom-width: 2px; border-radius: 0.25rem; padding: 0 0.3rem;}
</style>
"""

_CITE = re.compile(r"\[(\d+)\]")


def style() -> None:
    """Add the console's CSS to the page."""
    st.html(CSS)


_MARKDOWN_SYNTAX = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")


# GFM turns bare urls, www. names and e-mail addresses into links after escapes are read: a word joiner
# (invisible) inside each of them is the only thing that keeps them text.
_AUTOLINK = re.compile(r"(?i)(://|www\.|@)")


def literal(text: str) -> str:
    """Stored or customer text made literal inside a Streamlit Markdown string (labels, options, captions):
    every character Markdown, HTML or Streamlit directives read is backslash-escaped, bare urls and addresses
    are kept from becoming links, and line breaks become spaces. Prefer :func:`meta` or :func:`prose` where
    HTML can be used."""
    text = _AUTOLINK.sub(lambda m: f"{m.group(0)[0]}\u2060{m.group(0)[1:]}", " ".join(text.split()))
    return _MARKDOWN_SYNTAX.sub(r"\\\1", text)


def meta(text: str) -> str:
    """A caption-like line of stored text as escaped HTML."""
    return f'<div class="dp-meta">{html.escape(text)}</div>'


def prose(text: str) -> str:
    """``text`` as escaped HTML that keeps its line breaks."""
    return f'<div class="dp-prose">{html.escape(text)}</div>'


def draft(text: str, citations: Iterable[Citation]) -> str:
    """The draft as HTML: every ``[n]`` becomes a link to the cited article, titled with its section."""
    by_n = {c.n: c for c in citations}

    def link(match: re.Match[str]) -> str:
        cit = by_n.get(int(match.group(1)))
        if cit is None:
            return match.group(0)
        title = html.escape(f"{cit.title} › {cit.section}", quote=True)
        href = html.escape(cit.url or f"#source-{cit.n}", quote=True)
        return f'<a class="dp-cite" href="{href}" target="_blank" rel="noopener" title="{title}">[{cit.n}]</a>'

    return f'<div class="dp-draft">{_CITE.sub(link, html.escape(text))}</div>'


def _cite_links(cites: Iterable[int], by_n: dict[int, Citation]) -> str:
    links = []
    for n in cites:
        cit = by_n.get(n)
        if cit is None:
            continue
        title = html.escape(f"[{n}] {cit.title} › {cit.section}", quote=True)
        href = html.escape(cit.url or f"#source-{n}", quote=True)
        links.append(f'<a class="dp-cite" href="{href}" target="_blank" rel="noopener" title="{title}">{n}</a>')
    return f"<sup>{''.join(links)}</sup>" if links else ""


def answer_html(answer: Answer) -> str:
    """The answer laid out as the customer will read it (paragraphs, numbered steps, bullets, label: value rows),
    with superscript links to the articles cited (hover: ``[n]``, title and section) after each run of sentences.
    Sentences holding a redaction placeholder are not shown (``render.left_out`` lists them)."""
    by_n = {c.n: c for c in answer.citations}
    out = []
    for block in render.layout(answer).blocks:
        # A run of sentences citing the same articles shows its links once, after the run.
        parts = []
        for i, part in enumerate(block.parts):
            same_next = i + 1 < len(block.parts) and block.parts[i + 1].cites == part.cites
            body = html.escape(part.text)
            if part.pairs:
                body = "; ".join(f"<b>{html.escape(k)}:</b> {html.escape(v)}" for k, v in part.pairs)
            parts.append((part, body + ("" if same_next else _cite_links(part.cites, by_n))))
        if block.kind == "paragraph":
            out.append(f"<p>{' '.join(text for _, text in parts)}</p>")
        elif block.kind == "steps":
            items = []
            for part, text in parts:
                number = re.match(r"\d+", part.marker)
                items.append(f'<li value="{number.group(0)}">{text}</li>' if number else f"<li>{text}</li>")
            out.append(f"<ol>{''.join(items)}</ol>")
        else:
            css = ' class="dp-rows"' if block.kind == "rows" else ""
            out.append(f"<ul{css}>{''.join(f'<li>{text}</li>' for _, text in parts)}</ul>")
    return f'<div class="dp-answer">{"".join(out)}</div>'


_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def reply_html(text: str) -> str:
    """A reply as sent (plain text) as escaped HTML: line breaks kept, http(s) urls as links."""
    escaped = html.escape(text)

    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        return f'<a href="{url}" target="_blank" rel="noopener">{url}</a>'

    return f'<div class="dp-reply">{_URL.sub(link, escaped)}</div>'


def highlighted(text: str, snippets: Iterable[str]) -> str:
    """The source text as HTML with each supporting snippet marked (whitespace differences tolerated)."""
    escaped = html.escape(text)
    for snippet in sorted({s for s in snippets if s.strip()}, key=len, reverse=True):
        words = html.escape(snippet).split()
        pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
        escaped = pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped, count=1)
    return f'<div class="dp-source">{escaped}</div>'


def confidence(confidence: Confidence, abstained: bool) -> str:
    """A coloured badge (HTML) that says how sure the draft is and why, e.g. "Low 0.52 · only one source"."""
    level, _, why = (confidence.reason or confidence.level).partition(": ")
    icon = {"high": "✔", "medium": "◐", "low": "⚠"}[confidence.level]
    head = f"{icon} {html.escape(level.capitalize() or confidence.level)} confidence {confidence.score:.2f}"
    if abstained:
        head = f"{icon} No draft · {confidence.score:.2f}"
    return f'<div class="dp-conf dp-conf-{confidence.level}"><b>{head}</b><span>{html.escape(why)}</span></div>'


def percent(value: float | None, digits: int = 0) -> str:
    """``0.734`` -> ``73%``; None -> an em dash."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"
