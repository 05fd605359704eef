"""The Cloudflare Worker: the producer at the edge (enqueue API and cron).

``entry.py`` is what the runtime loads (thin: it only forwards to ``bridge``);
``bridge.py`` builds settings and the app from the Worker's bindings; ``binding_queue.py``
sends through the ``JOBS`` producer binding (awaited); ``data_api.py`` is the async YouTube
Data API client (the only HTTP client a Worker can run); ``backfill.py`` and ``watch.py``
are the channel backfill and the cron poll over it; ``stage.py`` stages the Worker as its
own pywrangler project (``pyproject.toml`` here lists its packages). Everything but
``entry.py`` is plain Python, tested in CPython.
"""
