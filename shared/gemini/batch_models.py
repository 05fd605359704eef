"""What a Gemini batch is to tubeq (issue 12): its records in the result store, its requests,
and what came back. No network and no google-genai here: the ports, the store and the CLI
import this.

A batch's life, as the result store keeps it (``BatchState``):

    open ──(size or age)──► sealed ──(batches.create)──► submitted ──► succeeded
                                                                  └──► failed / cancelled /
                                                                       expired (videos re-queued)

``open``: collect jobs add videos to it (one open batch per analysis version). ``sealed``: no
more videos; the submit job creates it at Gemini under ``display_name(batch_id)``, a name
derived from the batch's id alone, so a submit that died between ``batches.create`` and
storing the remote name finds its batch again by that name instead of creating a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.models import Analysis, Usage

#: every display name tubeq gives a batch starts with this (``tubeq batch list`` filters on it)
DISPLAY_PREFIX = "tubeq-batch-"


class BatchState(StrEnum):
    OPEN = "open"
    SEALED = "sealed"
    SUBMITTED = "submitted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


#: still waiting for something: a video added to one of these is not added again
LIVE_STATES = frozenset({BatchState.OPEN, BatchState.SEALED, BatchState.SUBMITTED})


class ItemState(StrEnum):
    PENDING = "pending"  # in a batch, no reply yet
    SAVED = "saved"  # its reply is the saved (paid) analysis; the video job writes the rest
    FAILED = "failed"  # its request failed (retried online, or recorded as the failure)
    REQUEUED = "requeued"  # its batch ended without it (expired, failed): collected again


class RemoteState(StrEnum):
    """google-genai's ``JobState`` names for a Gemini Developer API batch
    (``BATCH_STATE_*`` on the wire, renamed by the SDK's ``t_job_state``)."""

    PENDING = "JOB_STATE_PENDING"
    RUNNING = "JOB_STATE_RUNNING"
    SUCCEEDED = "JOB_STATE_SUCCEEDED"
    FAILED = "JOB_STATE_FAILED"
    CANCELLED = "JOB_STATE_CANCELLED"
    EXPIRED = "JOB_STATE_EXPIRED"
    UNSPECIFIED = "JOB_STATE_UNSPECIFIED"

    @property
    def ended(self) -> bool:
        return self in _ENDED

    @property
    def store_state(self) -> BatchState:
        return _STORE_STATES.get(self, BatchState.SUBMITTED)


_ENDED = {RemoteState.SUCCEEDED, RemoteState.FAILED, RemoteState.CANCELLED, RemoteState.EXPIRED}
_STORE_STATES = {
    RemoteState.SUCCEEDED: BatchState.SUCCEEDED,
    RemoteState.FAILED: BatchState.FAILED,
    RemoteState.CANCELLED: BatchState.CANCELLED,
    RemoteState.EXPIRED: BatchState.EXPIRED,
}


def display_name(batch_id: str) -> str:
    """The batch's name at Gemini: from its id alone, so it can be looked up after a crash."""
    return f"{DISPLAY_PREFIX}{batch_id}"


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    analysis_version: str
    state: BatchState
    items: int
    created_at: datetime
    updated_at: datetime
    remote_name: str | None = None
    submitted_at: datetime | None = None
    ended_at: datetime | None = None
    #: the live poll chain (``BatchPollJob.chain``); polls of an older chain stop
    poll_chain: str | None = None
    #: the video whose collect job opened the batch / closed it by size: that job (and its
    #: redeliveries) schedules the submit, so a crash never leaves a batch unsubmitted
    opened_by: str | None = None
    sealed_by: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class BatchItem:
    batch_id: str
    video_id: str
    analysis_version: str
    state: ItemState
    #: the request's user text (the same prompt the online path sends)
    prompt: str
    #: the collect job, as JSON, to send it again when the batch ends without it
    job: str
    language: str | None = None
    tries: int = 1
    error: str | None = None

    @property
    def pending(self) -> bool:
        return self.state == ItemState.PENDING


@dataclass(frozen=True)
class RemoteBatch:
    name: str  # "batches/…"
    display_name: str | None
    state: RemoteState


@dataclass(frozen=True)
class BatchReply:
    """One request's outcome, matched to its video by key. ``usage`` is what Gemini billed
    for it (zero when it failed before billing), at batch prices."""

    key: str
    analysis: Analysis | None
    usage: Usage
    #: ``CallOutcome`` value of a billed reply (ok, invalid, truncated, refused)
    outcome: str | None
    error_code: str | None = None
    error: str | None = None
    raw: str | None = None
