"""The HTTP decision service: decisions, events, reviews and strategy documents over HTTP.

:func:`create_app` builds the ASGI app for a strategy project and a store
(:class:`ServiceSettings`); :func:`fengkong.service.server.serve` runs it. Imports a web
framework (Starlette), so the engine never imports this package. See ``docs/service.md``.
"""

from fengkong.service.app import Service, ServiceSettings, create_app

__all__ = ["Service", "ServiceSettings", "create_app"]
