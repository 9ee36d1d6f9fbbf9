"""A class list (roster) for a game: the teacher pastes or uploads the students' names.

Each name is cleaned like a typed nickname (`names.clean_nickname`) and two names that share a
`names.nickname_key` (case, accents, look-alikes, spacing) are one name. A listed name is
reserved: a student who types it (in any of those spellings) gets the seat under the list's
spelling, so the grade sheet matches the class list; a generated nickname or a suggestion never
takes one. Joins under other names are still allowed, unless the teacher locks the game to the
list: then `admit` refuses them with the stable code `not_on_class_list`.
"""
from __future__ import annotations

from typing import Iterable

from django.db import transaction

from game import names
from game.models import ClassList, Game, Status

MAX_NAMES = 500
MAX_TEXT = 40_000  # characters of a pasted or uploaded list
REFUSED_CODE = "not_on_class_list"
REFUSED_MESSAGE = ("This game is open to the class list only: type your name exactly as your "
                   "teacher listed it, or ask your teacher to add it.")
TAKEN_CODE = "nickname"  # the join page's code for a name already in use
TAKEN_MESSAGE = ("Someone has already joined under this name: if it is yours, ask your "
                 "teacher to remove that seat.")


class ClassListError(ValueError):
    """A list the teacher sent cannot be used (the message says which line and why)."""


class Refused(Exception):
    """A join the class list refuses: `code` is stable, `message` is for the student."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def key(name: str) -> str:
    return names.nickname_key(name)


def parse(text: str, csv_file: bool = False) -> list[str]:
    """One name a line (a line copied from a spreadsheet: its first cell, split on a tab or
    `;`; commas stay, "Lopez, Maya" is one name, except in an uploaded .csv file, `csv_file`,
    where the first comma-separated cell is the name; blank lines and a `name` header
    skipped), each cleaned; ClassListError names the first line that is not a usable name.
    Duplicates (same key) are kept once, first spelling wins."""
    if len(text) > MAX_TEXT:
        raise ClassListError(f"The list is too long: at most {MAX_TEXT:,} characters.")
    out: dict[str, str] = {}
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        cell = line.split(",")[0] if csv_file else line
        raw = cell.split("\t")[0].split(";")[0].strip().strip('"').strip()
        if not raw or (n == 1 and raw.casefold() in ("name", "names", "nickname", "student")):
            continue
        try:
            name = names.clean_nickname(raw)
        except names.NicknameError as exc:
            raise ClassListError(f"Line {n}: {exc}") from None
        out.setdefault(key(name), name)
        if len(out) > MAX_NAMES:
            raise ClassListError(f"The list is too long: at most {MAX_NAMES} names.")
    return list(out.values())


def listed(game: Game) -> list[str]:
    row = ClassList.objects.filter(game=game).first()
    return list(row.names) if row else []


def keys(game: Game) -> dict[str, str]:
    """{key: the list's spelling} of the game's class list ({} without one)."""
    return {key(n): n for n in listed(game)}


def is_locked(game: Game) -> bool:
    return ClassList.objects.filter(game=game, locked=True).exists()


def save(game: Game, text: str, locked: bool, csv_file: bool = False) -> list[str]:
    """Replace the game's class list (an empty list removes it, and the lock with it).
    ClassListError when the list is unusable or the game is over; nothing changes then."""
    if game.status == Status.ENDED:
        raise ClassListError("This game is over: its class list can no longer change.")
    cleaned = parse(text, csv_file)
    with transaction.atomic():
        if not cleaned:
            ClassList.objects.filter(game=game).delete()
            return []
        ClassList.objects.update_or_create(game=game, defaults={
            "names": cleaned, "locked": bool(locked)})
    return cleaned


def admit(game: Game, nickname: str | None, taken: set[str]) -> tuple[str | None, set[str]]:
    """For join_game, under the game's lock, `taken` the keys of the seats' names: (the
    nickname to give, the keys no other name may take). A typed name on the list comes back in
    the list's spelling; the other listed names' keys are reserved. Refused when the game is
    locked to the list and the name is not on it (or none was typed), or is on it but taken
    (a suggestion of another name could not join)."""
    row = ClassList.objects.filter(game=game).first()
    if row is None:
        return nickname, set()
    spelled = {key(n): n for n in row.names}
    mine = key(nickname) if nickname else None
    if mine in spelled:
        if row.locked and mine in taken:
            raise Refused(TAKEN_CODE, TAKEN_MESSAGE)
        return spelled[mine], set(spelled) - {mine}
    if row.locked:
        raise Refused(REFUSED_CODE, REFUSED_MESSAGE)
    return nickname, set(spelled)


def summary(game: Game, joined: Iterable[str] | None = None) -> dict[str, object]:
    """What the console shows: the names, whether locked, and who has not joined yet."""
    row = ClassList.objects.filter(game=game).first()
    if row is None:
        return {"names": [], "locked": False, "missing": [], "text": ""}
    seated = {key(n) for n in (joined if joined is not None else game.seats.filter(
        kind="human", kicked=False).values_list("nickname", flat=True))}
    return {"names": list(row.names), "locked": row.locked,
            "missing": [n for n in row.names if key(n) not in seated],
            "text": "\n".join(row.names)}
