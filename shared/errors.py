"""tubeq's exceptions: one base class, split once into permanent and transient.

Every failure the pipeline sees ends up as one of these (see ``shared.classify``), and the
consumer decides from the class alone: permanent → record and ack; transient → retry with
backoff (honouring ``retry_after``) until the queue dead-letters it.
"""

from __future__ import annotations

from typing import ClassVar


class TubeqError(Exception):
    """Something went wrong in tubeq."""

    #: short, stable machine code stored with failures (``failures.error_code``)
    code: ClassVar[str] = "error"
    #: systemic: no message can succeed until an operator fixes something (a setting, a
    #: key); the consumer stops instead of failing its whole backlog one message at a time
    systemic: ClassVar[bool] = False
    #: whether a failure of this kind is written to the result store (a video waiting for
    #: another consumer's analysis has not failed)
    records_failure: ClassVar[bool] = True
    #: it waits on another consumer's work on the same thing (a claim the other holds): not
    #: the message's failure, so where the queue gives an attempt back for free it costs
    #: none (a duplicate must not walk to the DLQ while the original takes its time)
    waits_on_peer: ClassVar[bool] = False

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip())

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class ConfigError(TubeqError):
    """The settings are wrong; the message names the setting to fix."""

    code = "config"
    systemic = True


class AccessDenied(TubeqError):
    """An outside service refused our credentials (HTTP 401/403): fix the key, then restart."""

    code = "access_denied"
    systemic = True


class StorePermissionDenied(ConfigError):
    """The operating system refused tubeq a file or folder (permission denied, read-only
    file system); the message names the path and what to change."""

    code = "permission_denied"


class InvalidInput(TubeqError, ValueError):
    """The input is not something tubeq can work on."""

    code = "invalid_input"


class PermanentError(TubeqError):
    """A failure that retrying cannot fix; it is recorded and the message acknowledged."""

    code = "permanent"


class TransientError(TubeqError):
    """A failure that may go away; the message is retried with backoff."""

    code = "transient"
    #: the least delay a retry should wait, whatever the backoff says (blocked IPs want long)
    min_delay_s: ClassVar[float] = 0.0

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        #: a delay the server asked for (Retry-After, Gemini RetryInfo), in seconds
        self.retry_after = retry_after


# ---- permanent: the video or its transcript cannot be had -----------------------------


class VideoUnavailable(PermanentError):
    """The video is unavailable (private, removed or never existed)."""

    code = "video_unavailable"


class TranscriptsDisabled(PermanentError):
    """The video has transcripts disabled."""

    code = "transcripts_disabled"


class NoTranscriptFound(PermanentError):
    """The video has no transcript in any of the requested languages."""

    code = "no_transcript"


class InvalidVideoId(PermanentError):
    """The video id is not valid."""

    code = "invalid_video_id"


class AgeRestricted(PermanentError):
    """The video is age-restricted and cannot be read without signing in."""

    code = "age_restricted"


class VideoUnplayable(PermanentError):
    """The video cannot be played (region lock, members only, live not finished, ...)."""

    code = "video_unplayable"


# ---- permanent: the model ----------------------------------------------------------------


class InvalidModelOutput(PermanentError):
    """The model's reply did not match the analysis schema, even after a repair attempt."""

    code = "invalid_model_output"

    def __init__(self, message: str | None = None, *, raw: str | None = None) -> None:
        super().__init__(message)
        #: the raw reply, kept for inspection in the failure record
        self.raw = raw


class ModelRefused(PermanentError):
    """The model refused to answer (safety block or another stop reason)."""

    code = "model_refused"


class UpstreamRejected(PermanentError):
    """An outside API rejected the request (4xx other than 429); its message says why."""

    code = "upstream_rejected"


class EmptyTranscript(PermanentError):
    """The transcript has no text to analyse (every segment blank): nothing a retry or
    another analyzer could change."""

    code = "empty_transcript"


class ArtifactNotFound(PermanentError):
    """No artifact is stored under this key."""

    code = "artifact_not_found"


class NoTranscriptInLanguages(PermanentError):
    """The video has transcripts, but none in the wanted languages (or translatable to the
    target). Deliberately not a ``NoTranscriptFound``: the video fallback, ~20x the cost of a
    transcript, is only for videos with no transcript at all."""

    code = "no_transcript_in_languages"


# ---- transient -------------------------------------------------------------------------


class RateLimited(TransientError):
    """An outside API said: too many requests (429 or quota)."""

    code = "rate_limited"


class UpstreamUnavailable(TransientError):
    """An outside service failed or timed out (5xx, connection error, timeout)."""

    code = "upstream_unavailable"


class StoreUnavailable(UpstreamUnavailable):
    """A store the consumer writes to (the result store, the artifact store) cannot be
    reached: connection refused, reset or timed out, a 5xx from its gateway, a database
    locked past its busy timeout, a full disk.

    An outage, not the video's fault: the consumer pauses pulling and hands the message back
    without spending one of its attempts where the queue allows it (``consumer.outcomes``),
    and nothing is recorded (the store is what failed). Raised only by the stores' own
    classification (``shared.classify.storage``, ``botocore_map``, ``oserror``, ``sqlite``).
    """

    code = "store_unavailable"
    records_failure = False


class RequestBlocked(TransientError):
    """YouTube blocked this IP (recaptcha or IP ban); use proxies, and wait longer."""

    code = "request_blocked"
    min_delay_s = 15 * 60.0


class LeaseLost(TransientError):
    """The message's lease expired before the work finished; another consumer may have it."""

    code = "lease_lost"


class UnexpectedError(TransientError):
    """An error tubeq does not know; retried, then dead-lettered with its traceback summary."""

    code = "unexpected"
