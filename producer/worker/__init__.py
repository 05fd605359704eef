"""The Cloudflare Worker: the producer and the HTTP API at the edge.

``entry.py`` is what the runtime loads (thin: it only forwards to ``bridge``);
``bridge.py`` builds settings and the app from the Worker's bindings; ``binding_queue.py``
is the Queue port over the ``JOBS`` producer binding; ``watch.py`` is the cron poll of
watched channels. Everything but ``entry.py`` is plain Python, tested in CPython.
"""
