"""Checking a Ray cluster address before a sweep relies on it: ``--ray-address HOST:PORT`` (or
``ray://HOST:PORT``) where nothing listens is refused in seconds, naming the address, instead of
Ray retrying for minutes after the command has started."""
from __future__ import annotations

import socket

__all__ = ["check_ray_address", "CONNECT_TIMEOUT_S"]

#: How long to wait for the cluster's port to answer.
CONNECT_TIMEOUT_S = 5.0


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of an explicit address, None for ``auto`` / ``local`` (Ray finds those itself)."""
    text = address.strip()
    if text in ("auto", "local"):
        return None
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.rstrip("/")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--ray-address {address!r}: give 'auto', HOST:PORT or ray://HOST:10001 (the port is "
                         f"a number from 1 to 65535)")
    return host.strip("[]"), int(port)


def check_ray_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """ValueError naming ``address`` when it is malformed or nothing accepts a connection on its port
    within ``timeout`` seconds."""
    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or type(exc).__name__)
        raise ValueError(f"--ray-address {address!r}: no Ray cluster answers at {target[0]}:{target[1]} ({why}; "
                         f"waited at most {timeout:g} s). Start one there (head: ray start --head --port={target[1]}), "
                         f"or give the address 'ray start' printed, or 'auto' on a cluster node") from None
