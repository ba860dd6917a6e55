"""The bot's Markdown as the demo shows it in a terminal: tables aligned, details folded, no markup."""

from __future__ import annotations

import pytest

from bot.demo.terminal import brief, display_width, fill, markdown_to_text, quote

REPORT = """<!-- mlbot:report model=breast-cancer -->
## ❌ mlbot · breast&#45;cancer · blocked

1 blocking gate(s) did not pass: roc&#95;auc is not worse than production (fail).
Candidate [run 0ffaa4e9](http://mlflow/#/runs/0ffaa4e9) at c635a31 on branch **one&#124;stump**

| metric | production | candidate | Δ | |
|---|---:|---:|---:|:-:|
| roc_auc ↑ | 0.9732 | 0.8839 | -0.0893 | ❌ |
| f1 ↑ | 0.9510 | 0.9262 | -0.0249 | ✅ |

<sub>114 eval rows; paired bootstrap.</sub>

### Gates

| gate | verdict | reason |
|---|---|---|
| roc_auc is not worse than production | ❌ fail | worse than production by more than 0.005 |

<details><summary>Slices (3)</summary>

| slice | rows |
|---|---:|
| region = north | 40 |

</details>

<details><summary>Chart</summary>

```mermaid
xychart-beta
```

</details>

---
<sub>Commands: `/report` refresh this report.</sub>
"""


def test_the_report_reads_as_plain_aligned_text() -> None:
    text = markdown_to_text(REPORT, width=100)
    assert text.splitlines()[:2] == ["❌ mlbot · breast-cancer · blocked", "═" * 34]
    assert "roc_auc is not worse than production (fail)" in text  # entities decoded
    assert "Candidate run 0ffaa4e9 at c635a31 on branch one|stump" in text  # links and bold dropped
    lines = text.splitlines()
    header = lines.index("metric     production  candidate        Δ")
    assert lines[header + 1] == "─────────  ──────────  ─────────  ───────  ──"
    assert lines[header + 2] == "roc_auc ↑      0.9732     0.8839  -0.0893  ❌"  # numbers right-aligned
    assert lines[header + 3] == "f1 ↑           0.9510     0.9262  -0.0249  ✅"
    assert "114 eval rows; paired bootstrap." in lines
    assert "▸ Slices (3) (folded)" in lines and "region = north" not in text  # folded like on GitHub
    assert "mermaid" not in text and "<" not in text and "**" not in text and "|---" not in text


def test_a_table_too_wide_for_the_terminal_moves_its_longest_column_under_each_row() -> None:
    reason = "Δ -0.08929, 95% CI [-0.1527, -0.03341]: worse than production by more than 0.005 (higher is better)"
    body = f"| gate | verdict | observed | reason |\n|---|---|---:|---|\n| roc_auc | ❌ fail | -0.0893 | {reason} |\n"
    lines = markdown_to_text(body, width=50).splitlines()
    assert lines[0] == "gate     verdict  observed"
    assert lines[2] == "roc_auc  ❌ fail   -0.0893"
    assert lines[3:] == ["      Δ -0.08929, 95% CI [-0.1527, -0.03341]:",
                         "      worse than production by more than 0.005", "      (higher is better)"]
    assert all(display_width(line) <= 50 for line in lines)


def test_a_moderately_wide_table_wraps_its_widest_column_in_place() -> None:
    body = "| gate | reason |\n|---|---|\n| floor | " + "word " * 20 + "|\n"
    lines = markdown_to_text(body, width=40).splitlines()
    assert lines[0].startswith("gate   reason")
    assert lines[2].startswith("floor  word word")
    assert lines[3].startswith("       word")  # the continuation stays in its column
    assert all(display_width(line) <= 40 for line in lines)


@pytest.mark.parametrize(("text", "width"), [("abc", 3), ("✅ ok", 5), ("❔", 2), ("⏭️", 2), ("é", 1)])
def test_display_width_counts_terminal_cells(text: str, width: int) -> None:
    assert display_width(text) == width


def test_notes_bullets_and_quotes() -> None:
    body = "> [!NOTE]\n> This PR edits policies/a.yaml.\n\n- " + "long words here " * 8
    text = markdown_to_text(body, width=40)
    assert text.splitlines()[:2] == ["Note:", "This PR edits policies/a.yaml."]
    bullet = text.splitlines()[3:]
    assert bullet[0].startswith("- long") and all(line.startswith("  ") for line in bullet[1:])
    assert quote("a\n\nb") == "  │ a\n  │\n  │ b"


def test_control_characters_never_reach_the_terminal() -> None:
    assert markdown_to_text("title \x1b[31mred&#8203; @\u200dalice") == "title [31mred @alice"


def test_fill_keeps_indented_lines_copyable() -> None:
    command = "  $ mlbot train --project /a/very/long/path --repo acme/breast-cancer --sha " + "f" * 40
    assert fill(command, 40) == command
    assert fill("one two three four", 9) == "one two\nthree\nfour"


def test_brief_keeps_a_reports_headline_and_sentence_or_a_replys_first_paragraph() -> None:
    report = markdown_to_text(REPORT, width=100)
    assert brief(report) == ("❌ mlbot · breast-cancer · blocked\n"
                             "1 blocking gate(s) did not pass: roc_auc is not worse than production (fail).\n"
                             "Candidate run 0ffaa4e9 at c635a31 on branch one|stump")
    reply = markdown_to_text("I did not promote **m**: 1 gate failed.\n\n- roc_auc: fail")
    assert brief(reply) == "I did not promote m: 1 gate failed."
    assert brief("") == ""
