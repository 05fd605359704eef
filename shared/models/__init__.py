"""The data tubeq moves around: jobs, transcripts, analyses, results, queue deliveries.

One module per idea; every name is importable from ``shared.models`` itself, which is how
the rest of tubeq imports them:

- ``base``: ``Frozen`` (the base of every model), ``VideoId``, ``utcnow``
- ``videos``: ``VideoMeta``, ``VideoJob`` (what goes on the queue for a video)
- ``transcripts``: ``Segment``, ``Transcript``, ``encode_segments``
- ``spend``: ``Usage``, ``CallOutcome``, ``BilledCall`` (the spend ledger's rows)
- ``analysis``: ``Quote``, ``AnalysisContent``, ``Analysis``
- ``results``: ``VideoState``, ``ArtifactRef``, ``VideoResult``, ``FailureRecord``,
  ``VideoStatus``, ``Progress``, ``ChannelSummary`` (what the result store keeps)
- ``queue``: ``Delivery``, ``DeadLetter``, ``QueueStats``
- ``alerts``: ``Alert``
"""

from __future__ import annotations

from shared.models.alerts import Alert
from shared.models.analysis import Analysis, AnalysisContent, Quote
from shared.models.base import Frozen, VideoId, utcnow
from shared.models.queue import DeadLetter, Delivery, QueueStats
from shared.models.results import (
    ArtifactRef,
    ChannelSummary,
    FailureRecord,
    Progress,
    VideoResult,
    VideoState,
    VideoStatus,
)
from shared.models.spend import BilledCall, CallOutcome, Usage
from shared.models.transcripts import Segment, Transcript, encode_segments
from shared.models.videos import VideoJob, VideoMeta

__all__ = [
    "Alert",
    "Analysis",
    "AnalysisContent",
    "ArtifactRef",
    "BilledCall",
    "CallOutcome",
    "ChannelSummary",
    "DeadLetter",
    "Delivery",
    "FailureRecord",
    "Frozen",
    "Progress",
    "QueueStats",
    "Quote",
    "Segment",
    "Transcript",
    "Usage",
    "VideoId",
    "VideoJob",
    "VideoMeta",
    "VideoResult",
    "VideoState",
    "VideoStatus",
    "encode_segments",
    "utcnow",
]
