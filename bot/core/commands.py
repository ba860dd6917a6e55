"""The comment command grammar: which lines of a comment are commands, and what they say.

A command is a line that starts (after optional spaces) with `/verb` or `@mlbot verb`. Lines are
skipped when they are inside a fenced code block (``` or ~~~, also when never closed), indented by
four or more spaces or a tab (Markdown's indented code), inside an HTML comment, or quoted (`>`).
A `/word` that is neither a verb nor close to one (`/usr/bin`, `/tmp`, `/shrug`) is ordinary text;
a near miss (`/retrian`) is answered with a did-you-mean. After `@mlbot` every word is meant for
the bot, so an unknown verb there is always answered.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.core.errors import UsageError

Access = Literal["anyone", "writer_or_author", "writer", "promoter"]

ACCESS_TEXT: dict[Access, str] = {
    "anyone": "anyone",
    "writer_or_author": "write permission, or the author of a same-repository pull request",
    "writer": "write permission",
    "promoter": "maintain or admin permission, or a login in `commands.promoters`",
}


@dataclass(frozen=True)
class CommandSpec:
    """One verb: what it does, how to write it, who may use it, which options it takes."""

    verb: str
    summary: str
    usage: str
    access: Access
    flags: frozenset[str] = frozenset()
    takes_reason: bool = False
    takes_params: bool = False
    takes_version: bool = False
    takes_sha: bool = False
    takes_duration: bool = False


COMMANDS: dict[str, CommandSpec] = {
    spec.verb: spec
    for spec in (
        CommandSpec("retrain", "Train this pull request again, optionally overriding parameters.",
                    "/retrain [key=value ...]", "writer_or_author", takes_params=True),
        CommandSpec("ok-to-retrain", "Allow training of the head commit you reviewed (forks and authors "
                    "without write access); name it to be exact. A later push needs a new approval.",
                    "/ok-to-retrain [SHA]", "writer", takes_sha=True),
        CommandSpec("report", "Post the comparison report again from the latest training run.",
                    "/report", "anyone"),
        CommandSpec("gates", "Evaluate the policy gates again and update the `mlbot/gates` check.",
                    "/gates", "anyone"),
        CommandSpec("promote", "Promote this pull request's model if every blocking gate passes; "
                    "`--force` overrides failing gates and needs `--reason`.",
                    "/promote [--force] [--reason TEXT]", "promoter",
                    flags=frozenset({"force"}), takes_reason=True),
        CommandSpec("rollback", "Point production back at the previous version, or at version N.",
                    "/rollback [vN] [--reason TEXT]", "promoter", takes_reason=True,
                    takes_version=True),
        CommandSpec("help", "Show this list.", "/help", "anyone"),
    )
}

# The watch issue (one per model and alias, docs/watch.md) has verbs of its own; `/retrain` there
# refreshes the training data instead of training a pull request again.
WATCH_COMMANDS: dict[str, CommandSpec] = {
    spec.verb: spec
    for spec in (
        CommandSpec("retrain", "Run `watch.refresh` on the default branch and open a pull request with the "
                    "refreshed training data; it is trained and judged like any other.", "/retrain", "writer"),
        CommandSpec("snooze", "Keep the watch quiet for a while (30m, 12h, 3d, 2w; at most 90d): windows are "
                    "still judged and this issue kept up to date, but no issue is opened and the scheduled job "
                    "does not fail. `off` ends it.", "/snooze DURATION|off", "writer", takes_duration=True),
        CommandSpec("status", "Show the latest window's verdict, the snooze and when the next window is due.",
                    "/status", "anyone"),
        CommandSpec("help", "Show this list.", "/help", "anyone"),
    )
}
Place = Literal["pull", "watch"]
COMMANDS_AT: dict[Place, dict[str, CommandSpec]] = {"pull": COMMANDS, "watch": WATCH_COMMANDS}
PLACE_TEXT: dict[Place, str] = {"pull": "on pull requests", "watch": "in a watch issue"}

VERBS = tuple(COMMANDS)
ALL_VERBS = tuple(dict.fromkeys((*COMMANDS, *WATCH_COMMANDS)))
MAX_COMMANDS = 10
MAX_SNOOZE = 90 * 86_400
DURATION_UNITS = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
SUGGEST_CUTOFF = 0.7  # `retrian`, `promte`, `rollbak` match; `tmp`, `usr`, `shrug` do not


@dataclass(frozen=True)
class ParsedCommand:
    """A well-formed command found on line `line` (1-based) of a comment."""

    verb: str
    line: int
    args: dict[str, str] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()
    reason: str | None = None
    version: int | None = None
    sha: str | None = None  # `/ok-to-retrain SHA`: the commit the approver reviewed
    duration: int | None = None  # `/snooze`: seconds; 0 is `off`


@dataclass(frozen=True)
class CommandError:
    """A line meant as a command that cannot be run; `message` is the sentence to reply with."""

    line: int
    text: str
    message: str
    suggestion: str | None = None


FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
SLASH = re.compile(r"^/([A-Za-z][A-Za-z0-9_-]*)(?=\s|$)(.*)$")
TOKEN = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""")
UNQUOTE = re.compile(r""""([^"]*)"|'([^']*)'""")


def command_lines(body: str) -> list[tuple[int, str]]:
    """Return (line number, stripped text) for lines that may hold a command."""
    found: list[tuple[int, str]] = []
    fence: str | None = None
    in_html_comment = False
    for number, raw in enumerate(body.splitlines(), start=1):
        if fence is not None:
            match = FENCE.match(raw)
            # a fence closes with the same character, at least as long, and no info string
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                    and not match.group(2).strip():
                fence = None
            continue
        if in_html_comment:
            in_html_comment = "-->" not in raw
            continue
        match = FENCE.match(raw)
        if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
            fence = match.group(1)
            continue
        expanded = raw.expandtabs(4)
        if expanded.startswith("    "):
            continue
        text = raw.strip()
        if text.startswith("<!--"):
            in_html_comment = "-->" not in text
            continue
        if text and not text.startswith(">"):
            found.append((number, text))
    return found


def parse_comment(body: str, *, bot_mention: str = "mlbot",
                  place: Place | None = None) -> list[ParsedCommand | CommandError]:
    """Find every command in a comment body, in order; near misses come back as errors.

    `place` picks the verbs (a pull request's or a watch issue's); None accepts both, to decide
    whether a comment is for the bot before it is known where it was written.
    """
    known = COMMANDS_AT[place] if place else {**WATCH_COMMANDS, **COMMANDS}
    mention = re.compile(rf"^@{re.escape(bot_mention)}(?![\w\[-])[:,]?(?:\s+|$)(.*)$", re.IGNORECASE)
    results: list[ParsedCommand | CommandError] = []
    for number, text in command_lines(body):
        addressed = mention.match(text)
        rest = addressed.group(1).strip() if addressed else text
        if addressed and not rest:
            continue
        slash = SLASH.match(rest if rest.startswith("/") or not addressed else "/" + rest)
        if slash is None:
            if addressed:
                results.append(unknown_verb(number, text, rest.split()[0], tuple(known)))
            continue
        verb = slash.group(1).lower()
        if verb in known:
            results.append(parse_arguments(known[verb], number, text, slash.group(2).strip()))
        elif place and verb in ALL_VERBS:
            where = next(PLACE_TEXT[p] for p, verbs in COMMANDS_AT.items() if verb in verbs)
            results.append(CommandError(number, text, f"`/{verb}` works {where}, not {PLACE_TEXT[place]}; "
                                        "comment `/help` to see what works here."))
        elif addressed or closest_verb(verb, tuple(known)):
            results.append(unknown_verb(number, text, rest.split()[0], tuple(known)))
        if len(results) > MAX_COMMANDS:
            # one comment must not fan out into unbounded work and replies
            return [*results[:MAX_COMMANDS], CommandError(
                number, text, f"I run at most {MAX_COMMANDS} commands per comment; "
                "the rest were ignored, please split them over several comments.")]
    return results


def closest_verb(word: str, verbs: tuple[str, ...] = ALL_VERBS) -> str | None:
    """Return the known verb nearest to `word`, if it is near enough to be a typo."""
    close = difflib.get_close_matches(word.lower().lstrip("/"), verbs, n=1, cutoff=SUGGEST_CUTOFF)
    return close[0] if close else None


ZWJ = "\u200d"


def code(text: str) -> str:
    """Show a user's word as inline code that no backtick, length, tag, mention or marker in it can break."""
    text = text if len(text) <= 40 else text[:39] + "…"
    text = text.replace("<", "<" + ZWJ).replace("@", "@" + ZWJ)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def unknown_verb(line: int, text: str, word: str, verbs: tuple[str, ...] = ALL_VERBS) -> CommandError:
    """Explain an unknown verb, suggesting the closest known one."""
    guess = closest_verb(word, verbs)
    if guess:
        message = f"I don't know the command {code(word)}; did you mean `/{guess}`?"
    else:
        message = f"I don't know the command {code(word)}; comment `/help` to see what I can do."
    return CommandError(line, text, message, suggestion=f"/{guess}" if guess else None)


def tokenize(text: str) -> tuple[list[tuple[str, int, int]], int | None]:
    """Split into shell-like words (quotes group and are removed) with their offsets.

    Also return the offset of the first unclosed quote, if any.
    """
    words: list[tuple[str, int, int]] = []
    stray: int | None = None
    last = 0
    for match in TOKEN.finditer(text):
        if stray is None and text[last:match.start()].strip():
            stray = last + len(text[last:match.start()]) - len(text[last:match.start()].lstrip())
        last = match.end()
        words.append((UNQUOTE.sub(lambda m: m.group(1) or m.group(2) or "", match.group(0)),
                      match.start(), match.end()))
    if stray is None and text[last:].strip():
        stray = last + len(text[last:]) - len(text[last:].lstrip())
    return words, stray


def parse_arguments(spec: CommandSpec, line: int, text: str, rest: str) -> ParsedCommand | CommandError:
    """Read the options after a known verb, or explain what is wrong with them."""

    def error(problem: str) -> CommandError:
        return CommandError(line, text, f"{problem}; usage: `{spec.usage}`")

    args: dict[str, str] = {}
    flags: set[str] = set()
    reason: str | None = None
    version: int | None = None
    sha: str | None = None
    duration: int | None = None
    words, stray = tokenize(rest)
    index = 0
    while index < len(words):
        word, start, _ = words[index]
        if stray is not None and stray < start:
            break
        index += 1
        if spec.takes_reason and (word == "--reason" or word.startswith("--reason=")):
            reason, index = read_reason(rest, words, index)
            if not reason:
                return error(f"`/{spec.verb} --reason` needs a text")
            if index == len(words):
                stray = None  # an unquoted reason runs to the end of the line, quotes and all
        elif word.startswith("--") and word[2:] in spec.flags:
            flags.add(word[2:])
        elif word.startswith("-"):
            return error(f"`/{spec.verb}` has no option {code(word)}")
        elif spec.takes_params:
            key, sep, value = word.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
                return error(f"{code(word)} is not a `key=value` pair")
            if key in args:
                return error(f"{code(key)} is given twice")
            args[key] = value
        elif spec.takes_version and version is None and re.fullmatch(r"[vV]?[0-9]+", word):
            version = int(word.lstrip("vV"))
        elif spec.takes_sha and sha is None and re.fullmatch(r"[0-9a-fA-F]{7,40}", word):
            sha = word.lower()
        elif spec.takes_duration and duration is None:
            duration = parse_duration(word)
            if duration is None:
                return error(f"{code(word)} is not a duration like 30m, 12h, 3d or 2w (at most 90d), nor `off`")
        else:
            return error(f"`/{spec.verb}` does not take {code(word)}")
    if stray is not None:
        return error(f"`/{spec.verb}` has an unclosed quote")
    if spec.takes_duration and duration is None:
        return error(f"`/{spec.verb}` needs a duration")
    return ParsedCommand(spec.verb, line, args, frozenset(flags), reason, version, sha, duration)


def parse_duration(word: str) -> int | None:
    """`30m`, `12h`, `3d`, `2w` → seconds (at most 90 days); `off` → 0; anything else → None."""
    if word.lower() == "off":
        return 0
    match = re.fullmatch(r"([0-9]{1,4})\s*([mhdw])", word.lower())
    if match is None:
        return None
    seconds = int(match.group(1)) * DURATION_UNITS[match.group(2)]
    return seconds if 0 < seconds <= MAX_SNOOZE else None


def read_reason(rest: str, words: list[tuple[str, int, int]], index: int) -> tuple[str, int]:
    """Return the reason text for the `--reason` word before `index`, and the next index to read.

    A quoted reason ends at its closing quote (options may follow); an unquoted one runs to the end
    of the line, so `--reason the CI flaked --force` keeps every word as reason.
    """
    word, start, end = words[index - 1]
    if word.startswith("--reason="):
        value_start = start + len("--reason=")
        if rest[value_start:value_start + 1] in ("\"", "'"):
            return word[len("--reason="):].strip(), index
        return rest[value_start:].strip(), len(words)
    if index < len(words) and rest[words[index][1]:words[index][1] + 1] in ("\"", "'") \
            and words[index][2] - words[index][1] == len(words[index][0]) + 2:
        return words[index][0].strip(), index + 1
    return rest[end:].strip(), len(words)


def render_help(*, bot_mention: str = "mlbot", place: Place = "pull") -> str:
    """Return the `/help` reply as Markdown, generated from the command registry of `place`."""
    rows = [f"| `{spec.usage}` | {spec.summary} | {ACCESS_TEXT[spec.access]} |"
            for spec in COMMANDS_AT[place].values()]
    return "\n".join([
        "### mlbot commands" + (" in a watch issue" if place == "watch" else ""),
        "",
        "| command | what it does | who may use it |",
        "|---|---|---|",
        *rows,
        "",
        f"Write a command at the start of a line, or as `@{bot_mention} retrain`. "
        "Commands inside code blocks and quotes are ignored.",
    ])


def validate_retrain_params(
    args: Mapping[str, str], allowed: list[str], current_params: Mapping[str, object]
) -> dict[str, object]:
    """Check `/retrain` overrides against `commands.retrain_params` and type them like the config."""
    allowed_text = ", ".join(allowed) if allowed else "none (set commands.retrain_params in mlbot.yaml)"
    typed: dict[str, object] = {}
    for key, raw in args.items():
        if key not in allowed:
            raise UsageError(f"{key} is not a parameter /retrain may change; allowed: {allowed_text}",
                             hint="add it to commands.retrain_params in mlbot.yaml on the default branch")
        typed[key] = coerce(key, raw, current_params.get(key))
    return typed


NULLS = {"null", "none", "~"}


def coerce(key: str, raw: str, current: object) -> object:
    """Convert `raw` to the type of the configured value `current` (None: best guess)."""
    text = raw.strip()
    if text.lower() in NULLS:
        if current is None:
            return None
        raise UsageError(f"{key} cannot be null: its configured value is {type_name(current)}",
                         hint=f"give {type_name(current)}, e.g. {key}={current!r}")
    try:
        if isinstance(current, bool):
            return parse_bool(text)
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, str):
            return text
        if current is None:
            return guess(text)
    except ValueError:
        raise UsageError(f"{key}={raw} is not {type_name(current)}",
                         hint=f"give {type_name(current)}, e.g. {key}={current!r}") from None
    raise UsageError(f"{key} is {type_name(current)} in mlbot.yaml and cannot be set from a comment",
                     hint="change it in mlbot.yaml instead")


def parse_bool(text: str) -> bool:
    """Read a boolean the way YAML users write one."""
    lowered = text.lower()
    if lowered in {"true", "yes", "on", "1"}:
        return True
    if lowered in {"false", "no", "off", "0"}:
        return False
    raise ValueError(text)


def guess(text: str) -> object:
    """Type a value whose configured default is null: int, then float, then bool, else text."""
    for convert in (int, float, parse_bool):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def type_name(value: object) -> str:
    """Name a value's type for a user: 'an integer', 'a number', ..."""
    if isinstance(value, bool):
        return "a boolean (true/false)"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"
