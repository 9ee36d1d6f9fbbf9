"""Can a phone reach the join link? The console and the projector warn when it cannot.

A server started with the defaults listens on 127.0.0.1: the link and QR code then point at the
teacher's own machine, which no phone can open. We cannot see which address the server is bound
to from a request, but we can see the address the link is built from (PUBLIC_URL, else the
host the teacher's browser used): if that is a loopback address, phones cannot use it.
"""
from __future__ import annotations

import ipaddress
import socket
import struct
from typing import Any
from urllib.parse import urlsplit

_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (the ones a phone on the same network
    might use), read from the interfaces (Linux); empty when they cannot be read."""
    found: list[str] = []
    try:
        import fcntl

        names = [name for _, name in socket.if_nameindex()]
    except (ImportError, OSError):
        return found
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for name in names:
            try:
                packed = fcntl.ioctl(s.fileno(), _SIOCGIFADDR,
                                     struct.pack("256s", name[:15].encode()))
            except OSError:  # no IPv4 address on this interface
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not ipaddress.ip_address(address).is_loopback and address not in found:
                found.append(address)
    return found


def phone_warning(join_url: str, port: int | None = None) -> dict[str, Any] | None:
    """None when the join link can work from a phone; else what to tell the teacher: the
    link's host, this machine's LAN addresses and the command that serves the class."""
    parts = urlsplit(join_url)
    if not _is_loopback(parts.hostname or ""):
        return None
    port = port or parts.port or 8000
    lan = lan_addresses()
    first = lan[0] if lan else "<this computer's address>"
    hosts = ",".join([*lan, "localhost", "127.0.0.1"]) if lan else f"{first},localhost,127.0.0.1"
    return {
        "host": parts.hostname, "addresses": lan,
        "command": f"HOST=0.0.0.0 PORT={port} ALLOWED_HOSTS={hosts} "
                   f"PUBLIC_URL=http://{first}:{port} make run",
    }
