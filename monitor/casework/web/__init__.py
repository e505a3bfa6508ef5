"""The analysts' web inbox: FastAPI routers, Jinja2 templates, pinned htmx."""

from monitor.casework.web.app import create_app

__all__ = ["create_app"]
