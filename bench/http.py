"""A minimal HTTP/1.1 client over asyncio streams (the bench needs only the join form)."""
from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie
from urllib.parse import urlencode


class HttpError(Exception):
    pass


async def request(host: str, port: int, method: str, path: str, *, body: bytes = b"",
                  headers: dict[str, str] | None = None, timeout: float = 30.0
                  ) -> tuple[int, list[tuple[str, str]], bytes]:
    async def go() -> tuple[int, list[tuple[str, str]], bytes]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
                     f"Content-Length: {len(body)}"]
            lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            await writer.drain()
            raw = await reader.read()  # Connection: close: the server ends the body
        finally:
            writer.close()
        head, _, content = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise HttpError(f"bad response: {status_line!r}")
        pairs = [tuple(x.strip() for x in h.split(":", 1)) for h in header_lines if ":" in h]
        return int(parts[1]), pairs, content  # type: ignore[return-value]

    return await asyncio.wait_for(go(), timeout)


def cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    jar: dict[str, str] = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            c = SimpleCookie()
            c.load(value)
            jar.update({k: m.value for k, m in c.items()})
    return jar


async def join(host: str, port: int, code: str, nickname: str) -> str:
    """POST /join as the join page does (CSRF cookie + form field); the seat token."""
    status, headers, _ = await request(host, port, "GET", f"/join/{code}")
    if status != 200:
        raise HttpError(f"GET /join/{code}: {status}")
    csrf = cookies(headers).get("csrftoken")
    if not csrf:
        raise HttpError("the join page set no csrftoken cookie")
    form = urlencode({"csrfmiddlewaretoken": csrf, "code": code, "nickname": nickname}).encode()
    status, headers, body = await request(host, port, "POST", "/join", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}",
        "Origin": f"http://{host}:{port}", "Referer": f"http://{host}:{port}/join/{code}"})
    token = cookies(headers).get(f"seat_{code}")
    if status != 302 or not token:
        raise HttpError(f"POST /join: {status} {body[:200]!r}")
    return token
