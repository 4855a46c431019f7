"""The analyst's room: the web app of ``vigil serve`` (FastAPI, Jinja2 + htmx, no build step).

Public API::

    from vigil.web import create_app
    app = create_app(AssessmentService(case))
"""

from vigil.web.app import create_app

__all__ = ["create_app"]
