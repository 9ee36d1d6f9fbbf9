"""Docs stay true to the tree: no file in the repository refers to a document (a `*.md` path)
that is not in it. A path is looked up from the repository's root and from the referring file's
own folder (a link inside docs/ may say `protocol.md`)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = {".py", ".md", ".js", ".mjs", ".html", ".txt", ".toml", ".ini", ".json", ".css", ".conf",
        ".cfg", ".yml", ".yaml", ".sh", ""}  # "" : Makefile, scripts/*, .ci/run, Procfile
# a path ending in .md, not the tail of a longer path or of a URL
DOC = re.compile(r"(?<![\w/.:-])((?:\.{1,2}/)?(?:[\w-][\w.-]*/)*[\w-][\w.-]*\.md)\b")


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / name for name in out.stdout.decode().split("\0") if name]


def dangling(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError):  # binary, or deleted and not yet committed
        return []
    missing = []
    for number, line in enumerate(text.splitlines(), 1):
        for ref in DOC.findall(line):
            if not ((ROOT / ref).is_file() or (path.parent / ref).is_file()):
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                missing.append(f"{where}:{number}: {ref}")
    return missing


def test_every_document_a_file_refers_to_is_in_the_repository():
    here = Path(__file__).resolve()  # its own examples name missing documents on purpose
    files = [p for p in tracked_files() if p.suffix in TEXT and p != here]
    assert len(files) > 100  # the listing worked
    missing = [m for p in files for m in dangling(p)]
    assert missing == []


def test_it_finds_a_reference_to_a_missing_document(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("See docs/protocol.md, protocol.md, and docs/nowhere.md (https://x.org/a.md)"
                    "\n")
    assert dangling(page) == ["page.md:1: protocol.md", "page.md:1: docs/nowhere.md"]


def _game_table() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return text.split("## game/: the server", 1)[1].split("\n## ", 1)[0]


def _named_in(table: str) -> set[str]:
    """The module paths the map's game/ table names (first column, relative to game/)."""
    named: set[str] = set()
    for row in table.splitlines():
        first = row.split("|")[1] if row.startswith("|") else ""
        named |= set(re.findall(r"`([\w/]+\.py)`", first))
    return named


def _modules(game: Path) -> set[str]:
    return {str(p.relative_to(game)) for p in game.rglob("*.py")
            if p.name != "__init__.py" and "migrations" not in p.parts}


def test_the_architecture_map_names_every_module_of_game_and_no_other():
    named = _named_in(_game_table())
    commands = {f"management/commands/{name}" for name in named if "/" not in name
                and (ROOT / "game" / "management" / "commands" / name).is_file()}
    named = {n for n in named if f"management/commands/{n}" not in commands} | commands
    assert named == _modules(ROOT / "game")


def test_it_notices_a_module_the_map_leaves_out(tmp_path):
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "consumers.py").write_text("")
    (tmp_path / "live" / "stray.py").write_text("")
    table = "| module | what |\n|---|---|\n| `live/consumers.py` | the socket |\n"
    assert _named_in(table) != _modules(tmp_path)
    assert _modules(tmp_path) - _named_in(table) == {"live/stray.py"}
