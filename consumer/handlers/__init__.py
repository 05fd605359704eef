"""A handler per kind of job: what the runner dispatches each delivery to.

``base`` holds the ``Handler`` interface and the ``HandlerRegistry``; each kind of work is one
module beside it (``video``: analyse a video). A new kind of work is a new handler
registered with the consumer, not a change to the runner.
"""
