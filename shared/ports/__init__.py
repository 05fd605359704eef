"""The ports: one small Protocol per outside system.

The core (``consumer.pipeline``, ``consumer.runner``, ``producer``) depends only on these.
Every port has an embedded adapter (the default, zero setup) and a production adapter in
``shared.adapters``; the same contract tests in ``tests/contract`` run against each.

Every method may raise a ``shared.errors.TubeqError``; adapters translate their library's
exceptions through ``shared.classify`` so the core never sees a library exception type.

A capability an adapter may lack is declared (a Protocol of its own, asked for with
``isinstance``, or a field), never probed with ``getattr``.

One module per port family; every port is importable from ``shared.ports`` itself, which
is how the rest of tubeq imports them:

- ``queue``: ``Queue``, and what the producer side needs of one: ``ApiQueue``, ``JobSender``
- ``transcripts``: ``TranscriptSource``
- ``analysis``: ``Analyzer``, ``VideoAnalyzer``, ``TemplateAnalyzer``, ``PartialStore``
- ``budget``: ``RateBudget``, ``BudgetGrant``, ``BudgetMeter``, ``SpendLedger``
- ``results``: ``AnalysisClaims``, ``VideoStates``, ``ResultWriter``, ``AnalystReader``,
  ``ResultBackend``; the transitional ``ResultStore``, ``ResultReader``; the declared
  capabilities ``ChannelDirectory``, ``ActivityReader``
- ``artifacts``: ``ArtifactStore``, ``FileUploader``
- ``listings``: ``ListingSource``, ``WatchState``
- ``cloudflare``: ``CloudflareAccount``
- ``batches``: ``BatchStore``, ``BatchAnalyzer``
- ``search``: ``Search``, ``Answerer``, ``Embedder``, ``VectorIndex``
- ``templates``: ``TemplateResults``, ``TemplateResultReader``
- ``fleet``: ``ConsumerRegistry``
- ``alerts``: ``AlertSender``
"""

from __future__ import annotations

from shared.ports.alerts import AlertSender
from shared.ports.analysis import Analyzer, PartialStore, TemplateAnalyzer, VideoAnalyzer
from shared.ports.artifacts import ArtifactStore, FileUploader
from shared.ports.batches import BatchAnalyzer, BatchStore
from shared.ports.budget import BudgetGrant, BudgetMeter, RateBudget, SpendLedger
from shared.ports.cloudflare import CloudflareAccount
from shared.ports.fleet import ConsumerRegistry
from shared.ports.listings import ListingSource, WatchState
from shared.ports.queue import ApiQueue, JobSender, Queue
from shared.ports.results import (
    ActivityReader,
    AnalysisClaims,
    AnalystReader,
    ChannelDirectory,
    ResultBackend,
    ResultReader,
    ResultStore,
    ResultWriter,
    VideoStates,
)
from shared.ports.search import Answerer, Embedder, Search, VectorIndex
from shared.ports.templates import TemplateResultReader, TemplateResults
from shared.ports.transcripts import TranscriptSource

__all__ = [
    "ActivityReader",
    "AlertSender",
    "AnalysisClaims",
    "AnalystReader",
    "Analyzer",
    "Answerer",
    "ApiQueue",
    "ArtifactStore",
    "BatchAnalyzer",
    "BatchStore",
    "BudgetGrant",
    "BudgetMeter",
    "ChannelDirectory",
    "CloudflareAccount",
    "ConsumerRegistry",
    "Embedder",
    "FileUploader",
    "JobSender",
    "ListingSource",
    "PartialStore",
    "Queue",
    "RateBudget",
    "ResultBackend",
    "ResultReader",
    "ResultStore",
    "ResultWriter",
    "Search",
    "SpendLedger",
    "TemplateAnalyzer",
    "TemplateResultReader",
    "TemplateResults",
    "TranscriptSource",
    "VectorIndex",
    "VideoAnalyzer",
    "VideoStates",
    "WatchState",
]
