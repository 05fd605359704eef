"""tubeq's HTTP API (FastAPI): enqueue, progress, results, dead letters.

One app, two homes: ``tubeq serve`` runs it under uvicorn, and the Cloudflare Worker serves
the same app through the runtime's ASGI bridge (``producer.worker``).
"""

from producer.api.app import create_app

__all__ = ["create_app"]
