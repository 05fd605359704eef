"""An analysis template: a prompt, an output JSON Schema, a name and a version.

The analysis version key (the idempotency key with the video id) of a template's analysis is
the analyzer's own version plus the template's name, its version and a short hash of what it
asks (prompt and schema): editing a template is a new key, so its videos are analysed again
only when forced or enqueued anew with the new version, and two templates on one video are
two rows, never an overwrite. The built-in ``summary`` keeps the analyzer's key unchanged, so
stores made before templates existed stay valid.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

#: the built-in analysis tubeq always made: its key is the analyzer's own, unchanged
SUMMARY = "summary"
#: template names: safe as a path segment, an artifact kind and a SQL value
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
#: the hex digits of the content hash kept in the version key
HASH_CHARS = 10


@dataclass(frozen=True)
class AnalysisTemplate:
    name: str
    version: str
    description: str
    prompt: str
    #: the JSON Schema every reply must match (an object at the top)
    output_schema: dict[str, Any] = field(hash=False)
    #: where it came from: "built-in" or the file's path
    origin: str = "built-in"

    @property
    def builtin(self) -> bool:
        return self.origin == "built-in"

    @property
    def content_hash(self) -> str:
        """A digest of what the template asks (not its description or where it lives)."""
        canonical = json.dumps(
            {
                "name": self.name,
                "version": self.version,
                "prompt": self.prompt,
                "schema": self.output_schema,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:HASH_CHARS]

    def version_key(self, analyzer_version: str) -> str:
        """The analysis version key of this template run by an analyzer of ``analyzer_version``."""
        if self.name == SUMMARY:
            return analyzer_version
        return f"{analyzer_version}+tpl:{self.name}:{self.version}:{self.content_hash}"

    @property
    def artifact_kind(self) -> str:
        return f"template_{self.name}_md"


def template_version(analysis_version: str) -> str:
    """The template's own version inside a version key (``version_key``'s inverse), or ""
    for a key without one (the summary's)."""
    _, marker, rest = analysis_version.rpartition("+tpl:")
    parts = rest.split(":")
    # <name>:<version>:<hash>; a version may itself hold a colon, a name and a hash never do
    return ":".join(parts[1:-1]) if marker and len(parts) >= 3 else ""
