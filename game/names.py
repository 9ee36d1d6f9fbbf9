"""Join codes, tokens and nicknames: generation and sanitation."""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata

# No 0/O, 1/I/L: codes are read off a projector and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
NICK_MAX = 24
NICK_MIN = 2

_ADJECTIVES = (
    "Amber", "Brave", "Calm", "Clever", "Coral", "Cosmic", "Crimson", "Daring", "Eager", "Golden",
    "Happy", "Jade", "Keen", "Lucky", "Lunar", "Mellow", "Nimble", "Olive", "Quick", "Quiet",
    "Rapid", "Silver", "Solar", "Swift", "Teal", "Tidy", "Witty", "Zesty", "Blue", "Bold",
)
_ANIMALS = (
    "Badger", "Bison", "Crane", "Dingo", "Eagle", "Falcon", "Ferret", "Gecko", "Heron", "Ibis",
    "Jaguar", "Koala", "Lemur", "Lynx", "Marten", "Narwhal", "Ocelot", "Otter", "Panda",
    "Puffin", "Quokka", "Raven", "Salmon", "Tapir", "Toucan", "Walrus", "Wombat", "Yak", "Zebra",
    "Orca",
)
# Substrings refused in nicknames (compared case-insensitively, letters only). Small on purpose:
# the instructor can kick; this only stops the obvious.
_BLOCKLIST = (
    "fuck", "shit", "cunt", "bitch", "nigg", "fag", "rape", "nazi", "hitler", "whore", "slut",
    "pussy", "penis", "vagina", "porn", "retard", "kike", "chink",
    "admin", "instructor", "teacher", "foundation",
)
# Zero-width, joiners, bidi embeddings/overrides/isolates, BOM: invisible or reorder text.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                        "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")


# Look-alikes folded to Latin before the blocklist check: Cyrillic and Greek letters that render
# as Latin ones, and digits/symbols used as letters ("sh1t", "n@zi").
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ı": "i", "α": "a", "β": "b", "ε": "e", "η": "n",
    "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ς": "s",
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i",
})


def _skeleton(text: str) -> str:
    """The letters a reader sees: case folded, accents dropped, look-alikes made Latin."""
    folded = unicodedata.normalize("NFKD", text.casefold()).translate(_LOOKALIKES)
    return "".join(ch for ch in folded if ch.isalpha() and not unicodedata.combining(ch))


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str:
    """What a student typed → a code to look up (case and spaces forgiven)."""
    return re.sub(r"[\s\-]", "", raw or "").upper()[:12]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generated_nickname() -> str:
    return f"{secrets.choice(_ADJECTIVES)} {secrets.choice(_ANIMALS)}"


class NicknameError(ValueError):
    pass


# Shapes that pass for one another on a projector or a phone, folded to one for the uniqueness
# key only: "BIue Heron" (capital i) beside "Blue Heron", "rn" beside "m", "vv" beside "w".
_SAME_SHAPE = (("rn", "m"), ("vv", "w"), ("l", "i"), ("|", "i"))


def nickname_key(text: str) -> str:
    """What two names must differ in to be told apart on screen: case, accents, look-alike
    letters and spacing ignored. "Maya" and "maya", "BIue Heron" and "Blue Heron" share a key."""
    folded = unicodedata.normalize("NFKD", text.casefold()).translate(_LOOKALIKES)
    key = "".join(ch for ch in folded if (ch.isalnum() or ch == "|")
                  and not unicodedata.combining(ch))
    for shape, same in _SAME_SHAPE:
        key = key.replace(shape, same)
    return key


def _clean(raw: str, what: str, longest: int) -> str:
    """Sanitize a typed name or raise NicknameError with a message for the person who typed it:
    invisible and control characters dropped, "zalgo" marks capped, spaces folded, length and
    the blocklist checked on what a reader sees."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = _INVISIBLE.sub("", text)
    # Control characters and other non-printables (categories C*) go; so do combining marks
    # stacked more than two deep ("zalgo").
    out: list[str] = []
    marks = 0
    for ch in text:
        cat = unicodedata.category(ch)
        if cat.startswith("C"):
            continue
        if cat.startswith("M"):
            marks += 1
            if marks > 2:
                continue
        else:
            marks = 0
        out.append(" " if cat.startswith("Z") else ch)
    text = " ".join("".join(out).split())
    if len(text) < NICK_MIN:
        raise NicknameError(f"Choose a {what} of at least {NICK_MIN} characters.")
    if len(text) > longest:
        raise NicknameError(f"Choose a {what} of at most {longest} characters.")
    if not any(ch.isalnum() for ch in text):
        raise NicknameError(f"A {what} needs at least one letter or digit.")
    letters = _skeleton(text)
    if any(bad in letters for bad in _BLOCKLIST):
        raise NicknameError(f"Please choose another {what}.")
    return text


def clean_nickname(raw: str) -> str:
    """Sanitize a typed nickname or raise NicknameError with a message for the join page."""
    return _clean(raw, "nickname", NICK_MAX)


SUBNET_NAME_MAX = 40


def clean_subnet_name(raw: str) -> str:
    """A student-chosen subnet name reaches every phone and the projector: the same filter as a
    nickname (NicknameError)."""
    return _clean(raw, "subnet name", SUBNET_NAME_MAX)


# --- one name per subnet ---------------------------------------------------------------------

_SN_MENTION = re.compile(r"\bSN ?(\d+)\b(?! ·)")


def subnet_label(netuid: int, name: str | None) -> str:
    """A subnet as every page, report and export writes it: "SN28 · TAO Accumulation Corp"
    (the number alone when it has no name of its own, or only "Subnet 28"). The JavaScript twin
    is static/js/ui.js `subnetLabel`."""
    n = (name or "").strip()
    sn = f"SN{int(netuid)}"
    return sn if not n or n in (sn, f"Subnet {int(netuid)}") else f"{sn} · {n}"


def label_mentions(text: str, names: dict[int, str]) -> str:
    """`text` ("SN28 pays its holders") with each "SN<id>" of a subnet in `names` written as
    its label (static/js/ui.js `labelMentions`)."""
    def one(m: re.Match[str]) -> str:
        netuid = int(m.group(1))
        return subnet_label(netuid, names[netuid]) if netuid in names else m.group(0)
    return _SN_MENTION.sub(one, text)
