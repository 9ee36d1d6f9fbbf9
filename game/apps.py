from django.apps import AppConfig
from django.db.backends.signals import connection_created


class GameConfig(AppConfig):
    name = "game"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from game import pgtime

        # PostgreSQL's timestamps parsed in C, not Python (game/pgtime.py).
        connection_created.connect(pgtime.install, dispatch_uid="game.pgtime")
