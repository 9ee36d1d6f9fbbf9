"""An instructor's socket lives only as long as the login session it was opened with.

- On logout (django.contrib.auth's user_logged_out signal), every socket opened with that
  session is told to close (a channel-layer group per session: the sockets may be on another
  worker) and closes with 4001, the code of a missing identity.
- Before every message from an instructor's socket, the session is read again (one query): a
  session that ended any other way (expired, deleted, the password changed) closes the socket
  with 4001 and the message is not acted on.
"""
from __future__ import annotations

import hashlib
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from channels.auth import AuthMiddleware
from channels.layers import get_channel_layer
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.utils.crypto import constant_time_compare


def session_group(session_key: str) -> str:
    """The sockets opened with this login session (the key itself is never a group name)."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def still_logged_in(session_key: str | None, user: Any) -> bool:
    """The session exists, is unexpired, and still logs this user in (same password)."""
    if not session_key or user is None or not getattr(user, "is_authenticated", False):
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    data = store.load()  # {} when missing or expired
    if str(data.get(SESSION_KEY)) != str(user.pk) or not user.is_active:
        return False
    stored = data.get(HASH_SESSION_KEY)
    return bool(stored) and constant_time_compare(stored, user.get_session_auth_hash())


@receiver(user_logged_out, dispatch_uid="game.live.sessions.close_sockets")
def close_sockets_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    layer = get_channel_layer()
    if key and layer is not None:
        async_to_sync(layer.group_send)(session_group(key), {"type": "session.ended"})


class SocketAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware (scope["user"] from the login session), without its call on the
    process's one sync thread for a socket that brings no session cookie: every student's
    (a seat cookie, no account) and the projector's. Those calls queue in series, and in a
    reconnect storm of a whole class every handshake waited its turn there
    (docs/performance.md, round 2). Without a session cookie the session is empty and Channels'
    get_user would answer the anonymous user; with one it runs as Channels runs it."""

    async def resolve_scope(self, scope: Any) -> None:
        if (scope.get("cookies") or {}).get(settings.SESSION_COOKIE_NAME):
            await super().resolve_scope(scope)
        else:
            scope["user"]._wrapped = AnonymousUser()


def socket_auth_stack(inner: Any) -> Any:
    """As Channels' AuthMiddlewareStack, with SocketAuthMiddleware."""
    return CookieMiddleware(SessionMiddleware(SocketAuthMiddleware(inner)))
