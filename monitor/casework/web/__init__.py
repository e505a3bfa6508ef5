"""The analysts' web inbox: FastAPI routers, Jinja2 templates, pinned htmx."""
