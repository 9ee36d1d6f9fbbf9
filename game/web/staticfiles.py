"""Static files storage: whitenoise's hashed, compressed manifest, forgiving a file that was
added after the last collectstatic (it is then served under its plain name by whitenoise's
finders) instead of failing the page."""
from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ForgivingManifestStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:  # not collected yet (a fresh checkout, a new file)
            return name
