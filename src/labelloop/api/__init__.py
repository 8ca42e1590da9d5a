"""The REST API and the web UI's server: ``create_app(settings)`` builds a FastAPI app."""

from .app import create_app

__all__ = ["create_app"]
