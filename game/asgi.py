"""ASGI entry point (daphne game.asgi:application): HTTP pages and the game socket."""
from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "game.settings")

from game import firstrun  # noqa: E402

firstrun.prepare()  # VAR_DIR and the secret key on a first start (settings write nothing)

from django.core.asgi import get_asgi_application  # noqa: E402

django_http = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from game import engine  # noqa: E402
from game.live.httpguard import install as install_http_guards  # noqa: E402
from game.live.origin import SameOriginValidator  # noqa: E402
from game.live.routing import websocket_urlpatterns  # noqa: E402
from game.live.sessions import socket_auth_stack  # noqa: E402
from game.live.transport import install as install_send_backpressure  # noqa: E402

# Before daphne's Server.run builds its WebSocket factory (daphne CLI, `manage.py serve`,
# `manage.py runserver` all import this module first): bound what a non-reading client can make
# the server buffer (game/live/transport.py).
install_send_backpressure()
# A deadline for request headers, no `Server: daphne`, no tokens in the access log
# (game/live/httpguard.py).
install_http_guards()


class StartEngine:
    """Starts the in-process engine on the server's loop at the first request or socket
    (daphne sends no lifespan events; the in-memory channel layer lives on this loop)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        engine.start_in_process()
        return await self.app(scope, receive, send)


application = StartEngine(ProtocolTypeRouter({
    "http": django_http,
    "websocket": SameOriginValidator(socket_auth_stack(URLRouter(websocket_urlpatterns))),
}))
