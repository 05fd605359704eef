"""Failures of boto3/botocore (R2 and any S3-compatible server) mapped to tubeq's errors.

``shared.classify.storage.map_exception`` calls ``map_botocore`` so that this stays the one
place where S3 error codes are read. The rule: the store being unreachable (no connection,
a reset or timed-out connection, 502/503/504, ``ServiceUnavailable``) is ``StoreUnavailable``,
an outage: the consumer pauses and hands its messages back without spending their attempts;
one call failing on a store that is up (``InternalError``/500, a slow-down) is transient and
counts; refused credentials are ``AccessDenied`` (systemic); a wrong bucket is permanent and
the message names the setting to check, because no retry will fix a typo.
"""

from __future__ import annotations

from shared.classify.http import from_status, parse_retry_after
from shared.errors import (
    AccessDenied,
    InvalidInput,
    PermanentError,
    RateLimited,
    StoreUnavailable,
    TubeqError,
    UpstreamRejected,
    UpstreamUnavailable,
)

_CREDENTIALS_HINT = (
    "check TUBEQ_R2_ACCESS_KEY_ID and TUBEQ_R2_SECRET_ACCESS_KEY (an R2 API token with "
    "Object Read & Write on TUBEQ_R2_BUCKET) and TUBEQ_R2_ACCOUNT_ID / TUBEQ_R2_ENDPOINT_URL"
)
_PERMANENT_CODES = {
    "NoSuchBucket": "the bucket does not exist: check TUBEQ_R2_BUCKET (create it in the "
    "Cloudflare dashboard, R2 → Create bucket) and TUBEQ_R2_ACCOUNT_ID",
    "AccessDenied": "access denied: " + _CREDENTIALS_HINT,
    "InvalidAccessKeyId": "unknown access key: " + _CREDENTIALS_HINT,
    "SignatureDoesNotMatch": "the request signature was refused (wrong secret?): "
    + _CREDENTIALS_HINT,
    "InvalidBucketName": "the bucket name is not valid: check TUBEQ_R2_BUCKET",
    "403": "access denied: " + _CREDENTIALS_HINT,
}
_ACCESS_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
_SLOW_DOWN_CODES = {"SlowDown", "TooManyRequests", "RequestLimitExceeded", "429"}
_TRANSIENT_CODES = {
    "InternalError",
    "RequestTimeout",
    "RequestTimeTooSkewed",  # clock drift usually heals (NTP); retried, then dead-lettered
}
#: the store is not serving anyone: an outage, not this object's failure
_OUTAGE_CODES = {"ServiceUnavailable", "502", "503", "504", "BadGateway", "GatewayTimeout"}
_OUTAGE_STATUSES = {502, 503, 504}


def map_botocore(exc: BaseException) -> TubeqError | None:
    """``exc`` as a tubeq error, or None when it is not a boto3/botocore failure."""
    import boto3.exceptions
    import botocore.exceptions as bexc

    if isinstance(exc, boto3.exceptions.Boto3Error):
        # boto3's transfer helpers re-raise a ClientError as S3UploadFailedError (text
        # only); the original is still attached, and it has the code.
        inner = exc.__cause__ or exc.__context__
        return map_botocore(inner) if inner is not None else None
    if isinstance(exc, bexc.ClientError):
        return _from_client_error(exc)
    if isinstance(exc, bexc.ParamValidationError):
        return InvalidInput(f"S3 request refused by the client before sending: {exc}")
    if isinstance(exc, bexc.NoCredentialsError | bexc.PartialCredentialsError):
        return PermanentError(f"no S3 credentials: {_CREDENTIALS_HINT}")
    if isinstance(exc, bexc.EndpointConnectionError):
        return StoreUnavailable(
            f"cannot reach the S3 endpoint ({exc}); if this persists, check "
            "TUBEQ_R2_ACCOUNT_ID / TUBEQ_R2_ENDPOINT_URL"
        )
    # Timeouts, dropped connections, truncated bodies: the network, not us (boto3 has
    # already retried these itself, so the store is down or unreachable from here).
    if isinstance(
        exc,
        bexc.ConnectionError
        | bexc.HTTPClientError
        | bexc.IncompleteReadError
        | bexc.ConnectionClosedError,
    ):
        return StoreUnavailable(f"S3 network error: {type(exc).__name__}: {exc}")
    return None


def _from_client_error(exc: BaseException) -> TubeqError:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    code = str(error.get("Code") or "")
    status = int(meta.get("HTTPStatusCode") or 0)
    message = str(error.get("Message") or code or "no message")
    retry_after = parse_retry_after((meta.get("HTTPHeaders") or {}).get("retry-after"))
    where = _where(error)

    if code in _NOT_FOUND_CODES or (status == 404 and code not in _PERMANENT_CODES):
        # Imported here: the local store imports shared.classify, which will import this
        # module once storage.py calls map_botocore (a cycle at import time otherwise).
        from shared.errors import ArtifactNotFound

        return ArtifactNotFound(f"no artifact{where} in the bucket (S3 {code or status})")
    if code in _ACCESS_CODES:
        # every object would fail the same way: systemic, the consumer stops
        return AccessDenied(f"S3 {code}{where}: {_PERMANENT_CODES[code]}")
    if code in _PERMANENT_CODES:
        return UpstreamRejected(f"S3 {code}{where}: {_PERMANENT_CODES[code]}")
    if code in _SLOW_DOWN_CODES or status == 429:
        return RateLimited(f"S3 asked to slow down ({code}): {message}", retry_after=retry_after)
    if code in _OUTAGE_CODES or status in _OUTAGE_STATUSES:
        return StoreUnavailable(f"S3 {code or status}: {message}", retry_after=retry_after)
    if code in _TRANSIENT_CODES or status >= 500:
        return UpstreamUnavailable(f"S3 {code or status}: {message}", retry_after=retry_after)
    if status:
        return from_status(status, f"{code}: {message}", retry_after, service="S3")
    return UpstreamRejected(f"S3 {code}{where}: {message}")


def _where(error: dict[str, object]) -> str:
    key = error.get("Key")
    bucket = error.get("BucketName")
    if key:
        return f" {key!r}"
    if bucket:
        return f" (bucket {bucket!r})"
    return ""
