"""Loopback networking shared by every process valact starts: the local model server, the
Label Studio server, test clusters.

One ``free_port`` so they all pick ports the same way (bound on 127.0.0.1 only, never on a
public interface). Standard library only, so any layer can import it cheaply.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now.

    The port is free when this returns; a server started right after takes it. Another
    process could take it in between, which the callers' start-up checks report.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
