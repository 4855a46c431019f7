"""The analyst's room: the web app of ``verisight serve`` (FastAPI, Jinja2 + htmx, no build step).

Public API::

    from verisight.web import create_app
    app = create_app(AssessmentService(case))
"""

from verisight.web.app import create_app

__all__ = ["create_app"]
