"""What the server stores: games, seats, the command log, and per-tick/per-epoch rows.

The sim state and the scenario are kept as JSON *text* (not JSONField): PostgreSQL's jsonb
reorders keys, and replay equality is checked on the exact text (`state_digest`).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Status(models.TextChoices):
    LOBBY = "lobby"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


class Role(models.TextChoices):
    SPECULATOR = "speculator"
    SUBNET_OWNER = "subnet_owner"
    ROOT_VALIDATOR = "root_validator"


ROLES: tuple[str, ...] = tuple(Role.values)  # a seat's roles, in the order forms list them


class Game(models.Model):
    code = models.CharField(max_length=12, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="games")
    name = models.CharField(max_length=200)
    preset = models.CharField(max_length=100)
    # The normalized scenario: the preset with overrides until start, then the scenario as
    # started (the lobby roster as its players). verify_replay starts from this text.
    scenario = models.TextField()
    seed = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LOBBY)
    locked = models.BooleanField(default=False)
    bots = models.BooleanField(default=True)
    role_mix = models.JSONField(default=dict)
    starting_tao = models.FloatField(null=True, blank=True)
    # The clock. `tick` is the next tick to settle; the engine claims it with a conditional
    # UPDATE on (id, tick), so one tick can never be settled twice.
    tick = models.IntegerField(default=0)
    total_ticks = models.IntegerField(default=0)
    ticks_per_epoch = models.IntegerField(default=1)
    tick_seconds = models.FloatField(default=5.0)
    next_tick_at = models.DateTimeField(null=True, blank=True)
    advance_ticks = models.IntegerField(default=0)  # ticks the instructor asked to settle now
    # The public sequence number: +1 for every public broadcast (docs/protocol.md).
    seq = models.BigIntegerField(default=0)
    state = models.TextField(null=True, blank=True)  # sim.Game.to_json(), null in the lobby
    public = models.TextField(null=True, blank=True)  # last tick's public payload (JSON text)
    event_status = models.JSONField(default=dict)  # {"0": "fired" | "held" | "skipped" | …}
    projector_token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Rounds of one class session (game/rounds.py): the session's first game (null on that game
    # itself), the game this one was made from (play again, or the real game a practice round
    # was made for), whether it is a practice round, and the one setting changed from
    # `previous_round` ({"setting": ..., "value": ...}, {} when none).
    session = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="session_rounds")
    previous_round = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="next_rounds")
    practice = models.BooleanField(default=False)
    round_change = models.JSONField(default=dict, blank=True)
    # Where this game's students were sent (the next round, a practice round, or back from a
    # practice round to the real game): their pages follow (the `next_round` message).
    moved_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="moved_from")

    class Meta:
        indexes = [models.Index(fields=["status", "next_tick_at"])]

    def __str__(self) -> str:
        return f"{self.code} ({self.status})"

    @property
    def epoch(self) -> int:
        return min(self.tick, max(self.total_ticks - 1, 0)) // max(self.ticks_per_epoch, 1)


class SeatKind(models.TextChoices):
    HUMAN = "human"
    BOT = "bot"
    FOUNDATION = "foundation"  # the instructor's root validator seat


class Seat(models.Model):
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="seats")
    kind = models.CharField(max_length=12, choices=SeatKind.choices, default=SeatKind.HUMAN)
    nickname = models.CharField(max_length=40)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SPECULATOR)
    role_by_hand = models.BooleanField(default=False)
    player = models.CharField(max_length=40)  # the sim player id (pseudonymous: "p17")
    subnet = models.IntegerField(null=True, blank=True)  # an owner's subnet once started
    bot_policy = models.CharField(max_length=40, blank=True, default="")
    # sha256 hex of the seat token; the token itself is never stored.
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE)
    kicked = models.BooleanField(default=False)
    active = models.BooleanField(default=False)  # a player in the sim state
    # Presence (game/live/heartbeat.py, docs/architecture.md): `sockets` counts the seat's open
    # sockets (raised on connect, lowered on a clean close); `last_seen` is a lease that every
    # server process holding one of them renews on a timer. A seat is connected only while both
    # hold (readmodel.is_connected), so a counter left behind by a killed process expires.
    sockets = models.IntegerField(default=0)
    last_seen = models.DateTimeField(null=True, blank=True)
    # The tick since which a bot has played this seat for its absent (or kicked) student; null
    # while the student plays it (set and cleared by the engine at each tick).
    stand_in_tick = models.IntegerField(null=True, blank=True)
    # The seat's net worth when the stand-in took it: what the student is told on return.
    stand_in_worth = models.FloatField(null=True, blank=True)
    # One student, one seat: sha256 hex of the device cookie the seat was opened from (null for
    # bots, the Foundation, and seats opened before devices were recorded), and how often that
    # device then tried to open another seat in this game (the console flags it).
    device_hash = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    other_seat_attempts = models.IntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)
    # The seat of the round this one was carried over from (game/rounds.py): its token proves
    # the student, so moving to the next round needs no new join.
    from_seat = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="carried_to")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["game", "player"], name="seat_player_unique"),
            # A removed (kicked) seat keeps its nickname; only seats still in the game hold one.
            models.UniqueConstraint(fields=["game", "nickname"], condition=Q(kicked=False),
                                    name="seat_nickname_unique_in_game"),
        ]
        indexes = [
            # The presence sweep's lookup: only seats that claim an open socket.
            models.Index(fields=["last_seen"], condition=Q(sockets__gt=0),
                         name="seat_open_last_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.nickname} ({self.role}) in {self.game_id}"


class CommandStatus(models.TextChoices):
    QUEUED = "queued"
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Actor(models.TextChoices):
    HUMAN = "human"
    BOT = "bot"
    INSTRUCTOR = "instructor"
    SYSTEM = "system"  # late joins


class Command(models.Model):
    """The command log: every action the sim settles, in settlement order (id), with its fill."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="commands")
    seat = models.ForeignKey(Seat, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="commands")
    client_id = models.CharField(max_length=64, null=True, blank=True)
    actor = models.CharField(max_length=12, choices=Actor.choices)
    do = models.CharField(max_length=20)
    action = models.TextField()  # the sim action dict (player included, no ref), JSON text
    due_tick = models.IntegerField()
    status = models.CharField(max_length=10, choices=CommandStatus.choices,
                              default=CommandStatus.QUEUED)
    settled_tick = models.IntegerField(null=True, blank=True)
    reason = models.CharField(max_length=40, blank=True, default="")
    fill = models.TextField(null=True, blank=True)  # the sim fill, JSON text
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Idempotency: a client resending the same id gets the first answer back.
            models.UniqueConstraint(fields=["seat", "client_id"], name="command_client_id_unique"),
        ]
        indexes = [
            models.Index(fields=["game", "status", "due_tick"]),
            models.Index(fields=["game", "settled_tick"]),
        ]


class TickRow(models.Model):
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="tick_rows")
    tick = models.IntegerField()
    epoch = models.IntegerField()
    row = models.TextField()  # the docs/scenario-format.md ticks[] row, JSON text
    events = models.TextField(default="[]")  # scripted events fired this tick
    settled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # A second settlement of the same tick fails here and rolls back (belt and braces
            # behind the claim).
            models.UniqueConstraint(fields=["game", "tick"], name="tickrow_unique"),
        ]


class EpochRow(models.Model):
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="epoch_rows")
    epoch = models.IntegerField()
    tick = models.IntegerField()
    row = models.TextField()  # the docs/scenario-format.md epochs[] row, JSON text

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["game", "epoch"], name="epochrow_unique"),
        ]


class ClassList(models.Model):
    """A game's class list (game/classlist.py): the students' names as the teacher listed them
    (cleaned, one per nickname key), and whether only those names may join."""

    game = models.OneToOneField(Game, on_delete=models.CASCADE, related_name="class_list")
    names = models.JSONField(default=list)
    locked = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)


class CustomScenario(models.Model):
    """An instructor's own preset (game/customscenarios.py): a scenario built in the console's
    editor or imported, private to its owner. `body` is the normalized scenario
    (sim.load_scenario's output), the JSON file `python -m sim run` reads."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="custom_scenarios")
    name = models.CharField(max_length=200)
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "name"])]


# --- running the class (game/actions/predictions.py, announcements.py; issue #16) -----------

class QuestionStatus(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"
    REVEALED = "revealed"


class Question(models.Model):
    """A prediction put to the class: a scripted event's (its `prediction`) or a free one.
    Answers change no economic state: they are never part of the sim's command log."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="questions")
    number = models.IntegerField()  # 1, 2, … within the game
    event = models.IntegerField(null=True, blank=True)  # the scripted event it comes before
    text = models.CharField(max_length=200)
    choices = models.JSONField(default=list)  # 2–5 strings
    subnet = models.IntegerField(null=True, blank=True)  # whose price the debrief measures
    status = models.CharField(max_length=10, choices=QuestionStatus.choices,
                              default=QuestionStatus.OPEN)
    asked_tick = models.IntegerField()  # the game's next tick when it was asked
    closed_tick = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["game", "number"], name="question_number_unique"),
        ]


class Answer(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="answers")
    choice = models.IntegerField()
    tick = models.IntegerField()  # the game's next tick when it was given
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One answer per seat and question: a second one is refused (already_answered).
            models.UniqueConstraint(fields=["question", "seat"], name="answer_once"),
        ]


class Classroom(models.Model):
    """What the console shows every screen besides the game: the announcement and eyes-up."""

    game = models.OneToOneField(Game, on_delete=models.CASCADE, primary_key=True,
                                related_name="classroom")
    announcement = models.CharField(max_length=400, blank=True, default="")
    announcement_number = models.IntegerField(default=0)  # +1 for every announcement
    eyes_up = models.BooleanField(default=False)
    # Eyes-up paused a running game: lifting it resumes the game.
    eyes_up_paused = models.BooleanField(default=False)
