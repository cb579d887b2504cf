"""An HTTP server answering from a daemon thread: the one lifecycle of the devkit's local
servers (the Shopify emulator, the dashboard)."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class BackgroundHTTPServer:
    """Serves ``server`` from a daemon thread from construction until ``stop``."""

    def __init__(self, server: ThreadingHTTPServer, name: str,
                 poll_interval: float = 0.5) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": poll_interval},
                                        name=name, daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        """Stop answering, close the socket and wait (briefly) for the thread."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
