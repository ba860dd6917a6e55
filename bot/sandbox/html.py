"""A read-only HTML view of a pull request's conversation, for people watching the demo."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt

if TYPE_CHECKING:
    from bot.sandbox.github import SandboxGitHub

# GitHub renders raw HTML in comments (our report uses <details>), but strips active content.
_UNSAFE = re.compile(r"<\s*/?\s*(script|style|iframe|object|embed|form)\b[^>]*>", re.IGNORECASE)
_HANDLERS = re.compile(r"\son\w+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.IGNORECASE)

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; max-width: 980px;
       margin: 2em auto; color: #1f2328; }}
.comment {{ border: 1px solid #d0d7de; border-radius: 6px; margin: 1em 0; }}
.comment header {{ background: #f6f8fa; padding: .5em 1em; border-bottom: 1px solid #d0d7de; }}
.comment .body {{ padding: 0 1em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #d0d7de; padding: 4px 8px; }}
.state {{ display: inline-block; padding: 2px 10px; border-radius: 2em; color: white; background: {color}; }}
.checks li {{ list-style: none; }}
</style></head><body>
<h1>{title} <small>#{number}</small></h1>
<p><span class="state">{state}</span> <b>{author}</b> wants to merge <code>{head}</code> into
<code>{base}</code> ({sha})</p>
<h3>Checks</h3><ul class="checks">{checks}</ul>
{comments}
</body></html>"""


# GitHub draws ```mermaid blocks as charts; this page has no chart library, so it folds the source away.
_MERMAID = re.compile(r'<pre><code class="language-mermaid">(.*?)</code></pre>', re.S)


def render_markdown(text: str) -> str:
    """Markdown to HTML the way a comment is shown: tables, raw HTML minus active content."""
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough").render(text)
    rendered = _MERMAID.sub(lambda m: "<details><summary>chart (GitHub draws it; its source:)</summary>"
                                      f"<pre>{m.group(1)}</pre></details>", rendered)
    return _HANDLERS.sub("", _UNSAFE.sub("", rendered))


def render_pull(github: SandboxGitHub, repo: str, number: int) -> str:
    """The conversation page of pull request `number`."""
    with github.store.lock:
        pull = github.store.pull(repo, number)
        comments = github.comments(repo, number)
        checks = github.check_runs(repo, pull.head_sha)
    state = "merged" if pull.merged else pull.state
    color = {"merged": "#8250df", "open": "#1a7f37"}.get(state, "#cf222e")
    check_items = "".join(
        f"<li>{'✅' if c.conclusion == 'success' else '❌' if c.conclusion == 'failure' else '⏳'} "
        f"<b>{html.escape(c.name)}</b> {html.escape(c.conclusion or c.status)}"
        f" — {html.escape(str(c.output.get('title') or ''))}</li>" for c in checks) or "<li>none</li>"
    blocks = "".join(
        f'<div class="comment" id="issuecomment-{c.id}"><header><b>{html.escape(c.author)}</b> commented '
        f"at {html.escape(c.updated_at)}"
        f"{' · ' + ' '.join(html.escape(r.content) for r in c.reactions) if c.reactions else ''}</header>"
        f'<div class="body">{render_markdown(c.body)}</div></div>' for c in comments)
    return PAGE.format(title=html.escape(pull.title), number=number, state=state, color=color,
                       author=html.escape(pull.author), head=html.escape(pull.head_ref),
                       base=html.escape(pull.base_ref), sha=pull.head_sha[:7], checks=check_items,
                       comments=blocks)
