"""Run in a subprocess by the browser test: build a finished game in the database named by the
environment (SQLITE_PATH, SCENARIOS_DIR) and print what the test needs as JSON."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "game.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from gamekit import play_finished_game  # noqa: E402


def main() -> None:
    user = User.objects.create_user(os.environ["DEBRIEF_USER"],
                                    password=os.environ["DEBRIEF_PASSWORD"])
    game, seats = play_finished_game(user)
    print(json.dumps({"code": game.code, "projector_token": game.projector_token,
                      "tokens": {nick: token for nick, (_, token) in seats.items()}}))


if __name__ == "__main__":
    main()
