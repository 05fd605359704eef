"""Analysis templates (issue 13): a prompt plus an output JSON Schema, a name and a version.

``model`` (the template and its version key), ``loader`` (built-ins and
``TUBEQ_TEMPLATES_DIR``), ``schema_check`` (``jsonschema``), ``results`` (a stored result),
``offline`` (the extractive analyzer's templates), ``render`` (Markdown and WebVTT).
"""
