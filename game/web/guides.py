"""Teachers' guides: docs/teaching/<preset>.md, one per preset, shown in the console; and the
guide an instructor writes in their own preset (`own_guide`: the lesson's goal, timing,
discussion questions, misconceptions, a note per scripted event), shown in the console beside
the events.

The guides are Markdown in the repository (read on GitHub or in an editor) and rendered here
for the console by a deliberately small renderer: headings, paragraphs, bullet and numbered
lists, quotes, simple tables, `code` and **bold**. Every piece of text is HTML-escaped before
any markup is added, so a guide can never put markup of its own on the page; a link shows its
text only (a guide's links point at other Markdown files, which the app does not serve).
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from django.conf import settings

PRESET_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


def guide_dir() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "teaching"


def path_for(preset: str) -> Path | None:
    """The guide of a preset, or None (no such file, or not a preset's name)."""
    if not PRESET_NAME.match(preset or ""):
        return None
    path = guide_dir() / f"{preset}.md"
    return path if path.is_file() else None


def url_for(preset: str) -> str | None:
    return f"/console/guides/{preset}/" if path_for(preset) else None


OWN_PARTS = (("goal", "The lesson's goal"), ("timing", "Timing"),
             ("discussion", "Discussion questions"), ("misconceptions", "Misconceptions"))


def own_guide(scenario_text: str) -> tuple[list[dict[str, str]], dict[int, str]]:
    """The guide a game's scenario carries (the scenario editor's teacher's guide fields,
    game/web/scenario_form.py): its parts [{key, label, text}] in OWN_PARTS' order, and the
    events' notes {event index: note}. Plain text: the page escapes it."""
    scn = json.loads(scenario_text)
    guide = scn.get("guide") if isinstance(scn.get("guide"), dict) else {}
    parts = [{"key": key, "label": label, "text": guide[key].strip()} for key, label in OWN_PARTS
             if isinstance(guide.get(key), str) and guide[key].strip()]
    notes = {i: e["note"] for i, e in enumerate(scn.get("events") or [])
             if isinstance(e, dict) and isinstance(e.get("note"), str) and e["note"].strip()}
    return parts, notes


_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def inline(text: str) -> str:
    """One line of text: escaped first, then `code` and **bold**; a link keeps its text."""
    out = html.escape(_LINK.sub(r"\1", text), quote=True)
    out = _CODE.sub(r"<code>\1</code>", out)
    return _BOLD.sub(r"<strong>\1</strong>", out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(lines: list[str]) -> str:
    head, body = _cells(lines[0]), [_cells(x) for x in lines[2:]]
    # Focusable: a table wider than a phone scrolls, and the keyboard must reach it.
    out = ["<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"Table\">"
           "<table class=\"text-table\"><thead><tr>"]
    out += [f"<th scope=\"col\">{inline(c)}</th>" for c in head]
    out.append("</tr></thead><tbody>")
    for row in body:
        out.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


_BLOCK_START = re.compile(r"^(#{1,4} |- |\d+\. |> |\|)")


def render(text: str) -> str:
    """Markdown (the subset above) to HTML; anything else is a paragraph of escaped text."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        heading = re.match(r"^(#{1,4}) (.*)$", line)
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        for marker, tag in ((r"- ", "ul"), (r"\d+\. ", "ol"), (r"> ", "blockquote")):
            if re.match(marker, line):
                items = []
                while i < len(lines) and re.match(marker, lines[i]):
                    item = re.sub("^" + marker, "", lines[i])
                    i += 1
                    while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                        item += " " + lines[i].strip()
                        i += 1
                    items.append(item)
                if tag == "blockquote":
                    out.append("<blockquote>" + "".join(f"<p>{inline(x)}</p>" for x in items)
                               + "</blockquote>")
                else:
                    out.append(f"<{tag}>" + "".join(f"<li>{inline(x)}</li>" for x in items)
                               + f"</{tag}>")
                break
        else:
            if line.startswith("|"):
                block = []
                while i < len(lines) and lines[i].startswith("|"):
                    block.append(lines[i])
                    i += 1
                out.append(_table(block) if len(block) >= 2 else f"<p>{inline(block[0])}</p>")
                continue
            para = [line.strip()]
            i += 1
            while i < len(lines) and lines[i].strip() and not _BLOCK_START.match(lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline(' '.join(para))}</p>")
    return "\n".join(out)


def title(text: str) -> str:
    first = next((x for x in text.splitlines() if x.startswith("# ")), "")
    return first[2:].strip() or "Teacher's guide"
