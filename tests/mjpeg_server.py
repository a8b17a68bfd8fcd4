"""A real HTTP MJPEG camera for the tests: multipart/x-mixed-replace JPEG frames, as IP cameras serve.

Modes: ``normal`` (frames forever), ``resize`` (640x360 for the first ``switch`` frames, then
320x240), ``stall`` (``switch`` frames, then the connection stays open and silent), ``401`` (every
request refused with HTTP Basic auth required). Frames are numbered in their pixels (a bright bar
whose width grows), so a test can tell them apart; they are paced at ``fps``.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from emostream.daemon.localredis import free_port


class MjpegCamera:
    def __init__(self, mode: str = "normal", fps: float = 20.0, switch: int = 20) -> None:
        self.mode, self.fps, self.switch = mode, fps, switch
        self.port = free_port()
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def _frame(self, i: int) -> bytes:
        w, h = (640, 360) if self.mode != "resize" or i < self.switch else (320, 240)
        img = np.full((h, w, 3), 40, np.uint8)
        img[: h // 4, : min(w, 8 + 4 * (i % 100))] = 255
        return cv2.imencode(".jpg", img)[1].tobytes()

    def start(self) -> MjpegCamera:
        cam = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                cam.requests += 1
                if cam.mode == "401":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while cam._server is not None:
                        if cam.mode == "stall" and i >= cam.switch:
                            time.sleep(0.2)  # open, alive, silent
                            continue
                        jpg = cam._frame(i)
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                        self.wfile.write(f"Content-Length: {len(jpg)}\r\n\r\n".encode() + jpg + b"\r\n")
                        self.wfile.flush()
                        i += 1
                        time.sleep(1.0 / cam.fps)
                except (BrokenPipeError, ConnectionResetError):
                    return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
