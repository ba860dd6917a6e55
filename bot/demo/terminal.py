"""Show the bot's GitHub Markdown in a terminal: aligned tables, folded details, no markup.

Pure: text in, text out. Used by `mlbot demo` to quote the sticky report and the bot's replies
in the bot's own words, readable without a browser.
"""

from __future__ import annotations

import html
import re
import textwrap
import unicodedata

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_DETAILS = re.compile(r"<details>\s*<summary>(.*?)</summary>.*?</details>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.DOTALL | re.MULTILINE)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d]")
_SEPARATOR_CELL = re.compile(r"^\s*:?-+:?\s*$")
_NOTE = re.compile(r"^>\s*(\[!(\w+)\]\s*)?")
_MIN_WRAP = 24  # narrower than this, a wrapped column is harder to read than a long line


def display_width(text: str) -> int:
    """The number of terminal cells `text` takes (wide emoji and CJK count two, marks zero)."""
    width = 0
    for index, char in enumerate(text):
        if unicodedata.combining(char) or char in "\ufe0f\u200d":
            continue
        emoji = text[index + 1:index + 2] == "\ufe0f"  # VS16 asks for the two-cell emoji form
        width += 2 if emoji or unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def inline(text: str) -> str:
    """Drop inline markup: links keep their text, bold and tags vanish, entities decode."""
    text = _LINK.sub(r"\1", text)
    text = _BOLD.sub(r"\2", text)
    text = _TAG.sub("", text)
    return _CONTROL.sub("", html.unescape(text)).strip()


def split_row(line: str) -> list[str]:
    """The cells of a Markdown table row (escaped pipes arrive as entities, so split is safe)."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_table(lines: list[str]) -> tuple[list[list[str]], list[bool]]:
    """The rows of a Markdown table as plain text (header first) and which columns align right."""
    header, *rest = [split_row(line) for line in lines]
    right = [False] * len(header)
    if rest and all(_SEPARATOR_CELL.match(c) for c in rest[0]):
        right = [c.strip().endswith(":") and not c.strip().startswith(":") for c in rest[0]]
        rest = rest[1:]
    rows = [[inline(c) for c in row] for row in [header, *rest]]
    columns = max(len(row) for row in rows)
    return [row + [""] * (columns - len(row)) for row in rows], right + [False] * (columns - len(right))


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def render_table(lines: list[str], width: int) -> list[str]:
    """Align a Markdown table to `width`: the widest column wraps, or moves under its row if it must."""
    rows, right = parse_table(lines)
    columns = len(rows[0])
    widths = [max(display_width(row[i]) for row in rows) for i in range(columns)]
    total = sum(widths) + 2 * (columns - 1)
    widest = max(range(columns), key=lambda i: widths[i])
    below: int | None = None
    if total > width:
        room = widths[widest] - (total - width)
        if room >= _MIN_WRAP:
            widths[widest] = room
        elif columns > 1:  # too little room beside the others: the long text goes on its own lines
            below = widest
    shown = [i for i in range(columns) if i != below]
    out: list[str] = []
    for number, row in enumerate(rows):
        wrapped = {i: _wrap(row[i], widths[i]) or [""] if display_width(row[i]) > widths[i]
                   else [row[i]] for i in shown}
        for depth in range(max(len(w) for w in wrapped.values())):
            cells = []
            for i in shown:
                cell = wrapped[i][depth] if depth < len(wrapped[i]) else ""
                pad = " " * max(0, widths[i] - display_width(cell))
                cells.append(pad + cell if right[i] else cell + pad)
            out.append("  ".join(cells).rstrip())
        if number == 0:
            out.append("  ".join("─" * widths[i] for i in shown))
        elif below is not None and row[below]:
            out.extend("      " + piece for piece in _wrap(row[below], max(_MIN_WRAP, width - 6)))
    return out


def markdown_to_text(body: str, width: int = 100) -> str:
    """Render a comment for the terminal: folded `<details>` show their summary, tables align."""
    text = _COMMENT.sub("", body.replace("\r\n", "\n"))
    text = _DETAILS.sub(lambda m: f"\n▸ {inline(m.group(1))} (folded)\n", text)
    text = _FENCE.sub("", text)
    out: list[str] = []
    table: list[str] = []
    for line in [*text.split("\n"), ""]:
        if line.lstrip().startswith("|"):
            table.append(line)
            continue
        if table:
            out.extend(render_table(table, width))
            table = []
        heading = _HEADING.match(line)
        if heading:
            title = inline(heading.group(1))
            out.extend([title, "═" * display_width(title)] if line.startswith("## ") else [title])
        elif line.strip() == "---":
            out.append("─" * min(width, 40))
        elif line.startswith(">"):
            note = _NOTE.match(line)
            kind = note.group(2) if note and note.group(2) else ""
            rest = inline(line[note.end():] if note else line[1:])
            if kind:
                out.append(f"{kind.capitalize()}: {rest}".rstrip())
            elif rest:
                out.append(fill(rest, width))
        else:
            out.append(fill(inline(line), width))
    return squeeze("\n".join(out))


def fill(text: str, width: int) -> str:
    """Wrap each line of `text` at word boundaries; bullets hang, indented lines stay as they are."""
    out: list[str] = []
    for line in text.split("\n"):
        if line.startswith(" ") or display_width(line) <= width:
            out.append(line)
            continue
        hang = "  " if line.startswith(("- ", "* ")) else ""
        out.extend(textwrap.wrap(line, width, subsequent_indent=hang, break_long_words=False,
                                 break_on_hyphens=False))
    return "\n".join(out)


def squeeze(text: str) -> str:
    """At most one blank line in a row, none at either end."""
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.split("\n"))).strip("\n")


def brief(text: str) -> str:
    """The first paragraph of rendered text; for a report, its headline and first paragraph."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    if not paragraphs:
        return ""
    head = paragraphs[0].split("\n")
    if len(head) == 2 and set(head[1]) == {"═"}:
        return "\n".join([head[0], *paragraphs[1:2]])
    return paragraphs[0]


def quote(text: str, prefix: str = "  │ ") -> str:
    """Indent every line of `text` under a bar, the way the demo quotes the bot."""
    return "\n".join(prefix + line if line else prefix.rstrip() for line in text.split("\n"))
