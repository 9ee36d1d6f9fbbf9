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
