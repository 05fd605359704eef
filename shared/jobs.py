"""Work as data with a kind: the job base class, its envelope on the wire, reading it back.

A queue message is an envelope, ``{"kind": "video.analyze", "v": 1, "body": {…}}``: the kind
says which handler runs it, ``v`` which schema its body follows. The queue adapters read
and write envelopes and know no job model; the consumer's handler registry turns an envelope
into its job (``Job.from_envelope``) and refuses, readably, a kind it has no handler for or
a version it does not understand (those go to the dead-letter queue at once).

Messages written before envelopes existed — bare ``VideoJob`` dicts, still on production
queues — have no ``kind`` and are read as ``video.analyze`` v1.

Every ``Job`` subclass that declares its own ``kind`` is listed in a catalogue, so
``Delivery.body`` and ``DeadLetter.body`` can show the job of any kind this code defines.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import PermanentError

#: what a message without a ``kind`` is: a ``VideoJob`` from before envelopes
LEGACY_KIND = "video.analyze"
LEGACY_VERSION = 1


class JobUnreadable(PermanentError):
    """This consumer cannot read the job: it goes to the dead-letter queue as it is."""

    code = "job_unreadable"
    #: nothing to record it against: the reason travels with the dead letter
    records_failure = False


class UnknownJobKind(JobUnreadable):
    """No handler for this kind of job here."""

    code = "unknown_job_kind"


class UnsupportedJobVersion(JobUnreadable):
    """The job's schema version is not one this consumer reads."""

    code = "unsupported_job_version"


class InvalidJobBody(JobUnreadable):
    """The job's body does not follow its kind's schema."""

    code = "invalid_job_body"


class Envelope(BaseModel):
    """A job as the queue carries it: kind, schema version, body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(min_length=1, max_length=100)
    v: int = Field(ge=1)
    body: dict[str, Any]

    @classmethod
    def from_wire(cls, data: Any) -> Envelope:
        """The envelope of a message body as it came off the queue; a ``ValueError`` when it
        is not one (an adapter then dead-letters it as unreadable)."""
        if isinstance(data, dict) and "kind" not in data:
            return cls(kind=LEGACY_KIND, v=LEGACY_VERSION, body=data)
        return cls.model_validate(data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        return cls.from_wire(json.loads(text))

    def wire(self) -> dict[str, Any]:
        """What is sent: plain JSON types."""
        return self.model_dump(mode="json")

    @property
    def label(self) -> str:
        return f"{self.kind} v{self.v}"


class Job(BaseModel):
    """One unit of work. Subclasses set ``kind`` (and ``version`` when their schema changes
    in a way an older consumer must not read: add fields with defaults, or bump it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "kind" in cls.__dict__:  # a subclass that inherits its kind is not another kind
            _catalogue_add(cls)

    @property
    def label(self) -> str:
        """What this job is about, in messages (a size refusal, the CLI's report)."""
        return self.kind

    def envelope(self) -> Envelope:
        return Envelope(kind=self.kind, v=self.version, body=self.model_dump(mode="json"))

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> Self:
        """This kind's job from an envelope of it, or a ``JobUnreadable`` saying why not."""
        if envelope.kind != cls.kind:
            raise UnknownJobKind(f"a {envelope.kind!r} job is not a {cls.kind!r} job")
        if envelope.v > cls.version:
            raise UnsupportedJobVersion(
                f"{envelope.label} is newer than this consumer understands (≤ {cls.version}): "
                "upgrade the consumer, then redrive"
            )
        body = envelope.body if envelope.v == cls.version else cls.upgrade(envelope)
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise InvalidJobBody(
                f"the body is not a valid {envelope.label}: {where}: {first['msg']}"
            ) from exc

    @classmethod
    def upgrade(cls, envelope: Envelope) -> dict[str, Any]:
        """The body of an older version, brought up to ``version``. Override when a version
        is added; by default older versions are not read."""
        raise UnsupportedJobVersion(
            f"{envelope.label} is older than this consumer reads (v{cls.version}): "
            "redrive it with a consumer that still reads it, or re-enqueue the work"
        )


_CATALOGUE: dict[str, type[Job]] = {}


def _catalogue_add(cls: type[Job]) -> None:
    known = _CATALOGUE.get(cls.kind)
    if known is not None and known.__qualname__ != cls.__qualname__:
        raise TypeError(f"job kind {cls.kind!r} is taken by {known.__qualname__}")
    _CATALOGUE[cls.kind] = cls


def job_kinds() -> list[str]:
    return sorted(_CATALOGUE)


def read_job(envelope: Envelope) -> Job:
    """The job in an envelope, for any kind this code defines (the consumer reads through
    its handler registry instead)."""
    model = _CATALOGUE.get(envelope.kind)
    if model is None:
        raise UnknownJobKind(
            f"no job kind {envelope.kind!r} in this version of tubeq "
            f"(known: {', '.join(job_kinds()) or 'none'})"
        )
    return model.from_envelope(envelope)


def job_or_raw(data: Any) -> Job | dict[str, Any]:
    """A dead letter's body: its job when readable, else what was on the queue, as data."""
    try:
        return read_job(Envelope.from_wire(data))
    except (ValueError, JobUnreadable):
        return data if isinstance(data, dict) else {"raw": data}
