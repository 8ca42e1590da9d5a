"""Hand image files to a remote model: a job-scoped HTTP server on loopback, or data URIs.

A Label Studio ML backend fetches each task's image by URL. ``ImageServer`` serves exactly the
files it was given, each under its own unguessable path (``secrets.token_urlsafe``, 192 bits),
on 127.0.0.1 and an ephemeral port, only while the job runs (``with ImageServer(...)``). It
answers GET/HEAD for those paths and 404 for anything else, lists nothing and never touches a
path it was not given, so other programs on the machine cannot browse the image store through
it. A backend on another machine cannot reach loopback: use data URIs for it.

Either way the backend gets the image as it is displayed: a file whose EXIF orientation is not
1 (a phone photo taken upright) is turned (``ImageOps.exif_transpose``) and re-encoded in its
format without the tag, so that a backend that ignores EXIF sees the same pixels as the
percent boxes it answers refer to (labelloop converts them with the displayed width and height).
Any other file is handed over byte for byte.
"""

from __future__ import annotations

import base64
import io
import secrets
import shutil
import threading
from collections.abc import Hashable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image, ImageOps

LOOPBACK = "127.0.0.1"
_TOKEN_BYTES = 24
_POLL_SECONDS = 0.05
# Pillow format names -> (MIME type, extension); the extension helps backends that guess the
# type from the URL.
MEDIA_TYPES = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "GIF": ("image/gif", ".gif"),
    "BMP": ("image/bmp", ".bmp"),
    "TIFF": ("image/tiff", ".tif"),
    "WEBP": ("image/webp", ".webp"),
    "MPO": ("image/jpeg", ".jpg"),  # a multi-picture JPEG; its first picture is a JPEG
}
EXIF_ORIENTATION = 0x0112
JPEG_QUALITY = 95  # re-encoding a turned JPEG
_FALLBACK_MEDIA = ("application/octet-stream", "")


def media_type(image_format: str) -> tuple[str, str]:
    """(MIME type, file extension) of a Pillow format name."""
    return MEDIA_TYPES.get(image_format.upper(), _FALLBACK_MEDIA)


def data_uri(path: str | Path, image_format: str) -> str:
    """``data:image/...;base64,...`` of an image as displayed (for backends that cannot reach
    this machine)."""
    mime, _ = media_type(image_format)
    data = displayed_bytes(path)
    if data is None:
        data = Path(path).read_bytes()
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def displayed_bytes(path: str | Path) -> bytes | None:
    """The image turned as displayed and re-encoded in its own format (JPEG for MPO), when its
    EXIF orientation is not 1; None when the file's own bytes already are the displayed image
    (or it cannot be read as an image: then it is handed over as it is)."""
    try:
        with Image.open(path) as img:
            try:
                orientation = img.getexif().get(EXIF_ORIENTATION, 1)
            except Exception:  # a broken EXIF block: viewers ignore it too
                return None
            if not isinstance(orientation, int) or orientation <= 1 or orientation > 8:
                return None
            image_format = "JPEG" if img.format in ("JPEG", "MPO") else img.format
            turned = ImageOps.exif_transpose(img)
            return _encode(turned, image_format or "PNG")
    except OSError:
        return None


def _encode(img: Image.Image, image_format: str) -> bytes:
    options: dict = {}
    if image_format == "JPEG":
        options["quality"] = JPEG_QUALITY
        if img.mode not in ("RGB", "L", "CMYK"):
            img = img.convert("RGB")
    elif image_format == "WEBP":
        options["lossless"] = True
    buffer = io.BytesIO()
    img.save(buffer, format=image_format, **options)  # no exif= given: the tag is not written
    return buffer.getvalue()


class ImageServer:
    """Serves ``files`` ({key: (path, Pillow format)}) while in a ``with`` block."""

    def __init__(self, files: Mapping[Hashable, tuple[str | Path, str]], host: str = LOOPBACK):
        self.host = host
        self._routes: dict[str, tuple[Path, str]] = {}
        self._paths: dict[Hashable, str] = {}
        for key, (path, image_format) in files.items():
            mime, extension = media_type(image_format)
            route = f"/{secrets.token_urlsafe(_TOKEN_BYTES)}{extension}"
            self._routes[route] = (Path(path), mime)
            self._paths[key] = route
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ImageServer:
        routes = self._routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(with_body=True)

            def do_HEAD(self) -> None:
                self._answer(with_body=False)

            def _answer(self, *, with_body: bool) -> None:
                found = routes.get(self.path.split("?", 1)[0])
                if found is None or not found[0].is_file():
                    self.send_error(404)
                    return
                path, mime = found
                turned = displayed_bytes(path)
                self.send_response(200)
                self.send_header("Content-Type", mime)
                size = path.stat().st_size if turned is None else len(turned)
                self.send_header("Content-Length", str(size))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                if not with_body:
                    return
                if turned is not None:
                    self.wfile.write(turned)
                    return
                with open(path, "rb") as handle:
                    shutil.copyfileobj(handle, self.wfile)

            def log_message(self, format: str, *args) -> None:
                return  # the job log is not the place for one line per image

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval so that the job's end does not wait half a second for it.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="labelloop-image-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the image server is not running (use it in a with block)")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def url_for(self, key: Hashable) -> str:
        return self.base_url + self._paths[key]
