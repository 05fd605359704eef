"""The production artifact store: Cloudflare R2 (or any S3-compatible server) through boto3.

R2 speaks the S3 API at ``https://<account_id>.r2.cloudflarestorage.com`` with region
``auto``. Two things differ from AWS and are set here on purpose:

- boto3 ≥ 1.36 adds CRC checksums to every upload and validates them on download; R2 has
  rejected some of them, so both are ``when_required`` (only where the API demands one).
- Path-style addressing (``endpoint/bucket/key``) when the endpoint is overridden, because
  local servers (moto, SeaweedFS, MinIO) do not resolve ``bucket.127.0.0.1``.

One boto3 client per process and endpoint: clients are thread-safe and hold the connection
pool, while sessions are not thread-safe, so each client is built from its own session under
a lock. Every call has a connect and a read timeout and botocore's ``standard`` retries
(``max_attempts=3`` counts retries: up to 4 tries, with backoff, on 5xx, throttling and
connection errors); what still fails is translated by ``map_botocore``.

Every object is stored with a ``Content-Disposition`` (``shared.artifact_rules``), so a
download is saved as ``<title>-report.md`` and not as the key's last segment. A presigned
link asks for the same header (``response-content-disposition``, signed into the link), so
objects stored before that header existed download under a good name too.
"""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from shared.adapter_settings import R2Settings
from shared.artifact_rules import check_link_lifetime, content_disposition, validate_key
from shared.classify import classify
from shared.classify.botocore_map import map_botocore
from shared.errors import ArtifactNotFound, ConfigError, InvalidInput, TubeqError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["ArtifactNotFound", "R2ArtifactStore", "r2_endpoint", "s3_client"]

#: Objects are overwritten in place (a forced re-analysis, a new export), and links are
#: handed to individual people, so caches may keep a copy briefly and only privately.
CACHE_CONTROL = "private, max-age=300"
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# Exports can be large; above this, upload_fileobj switches to a multipart upload.
_TRANSFER = TransferConfig(multipart_threshold=16 * 1024 * 1024, max_concurrency=4)

_clients: dict[tuple[object, ...], S3Client] = {}
_clients_lock = threading.Lock()


def r2_endpoint(section: R2Settings) -> str:
    """The S3 endpoint: the override if set (checked), else the account's R2 endpoint."""
    if section.endpoint_url:
        return check_endpoint_url(section.endpoint_url)
    account = (section.account_id or "").strip()
    if not _ACCOUNT_ID.match(account):
        raise ConfigError(
            "TUBEQ_R2_ACCOUNT_ID is missing or not an account id: copy it from the Cloudflare "
            "dashboard (R2 → Account details), or set TUBEQ_R2_ENDPOINT_URL"
        )
    return f"https://{account}.r2.cloudflarestorage.com"


def check_endpoint_url(url: str) -> str:
    """``url`` without a trailing slash if it is an http(s) origin, else ConfigError.

    botocore would only fail later, deep in client creation or at the first request, with
    a traceback that does not name the setting.
    """
    text = url.strip().rstrip("/")
    problem = None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        problem = "is not a URL"
    else:
        if parts.scheme not in ("https", "http"):
            problem = "is not an https:// URL"
        elif not parts.hostname or any(c.isspace() for c in text):
            problem = "has no host name"
        elif parts.path or parts.query or parts.fragment:
            problem = "has a path (the bucket is TUBEQ_R2_BUCKET, not part of the endpoint)"
    if problem:
        raise ConfigError(
            f"TUBEQ_R2_ENDPOINT_URL {url!r} {problem}: use "
            "https://<account>.r2.cloudflarestorage.com (or http://host:port for a local "
            "S3 server), or unset it and set TUBEQ_R2_ACCOUNT_ID"
        )
    return text


def s3_client(
    endpoint_url: str,
    access_key_id: str,
    secret_access_key: str,
    *,
    connect_timeout_s: float = 10.0,
    read_timeout_s: float = 60.0,
    path_style: bool = False,
) -> S3Client:
    """The process's client for this endpoint and key (built once, then shared)."""
    # The secret is part of the identity of a client but is kept only as a digest here.
    digest = hashlib.sha256(secret_access_key.encode()).hexdigest()
    cache_key = (endpoint_url, access_key_id, digest, connect_timeout_s, read_timeout_s, path_style)
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            config = Config(
                signature_version="s3v4",
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=connect_timeout_s,
                read_timeout=read_timeout_s,
                retries={"mode": "standard", "max_attempts": 3},
                s3={"addressing_style": "path"} if path_style else None,
            )
            client = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint_url,
                region_name="auto",
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                config=config,
            )
            _clients[cache_key] = client
        return client


def _translate(exc: Exception, key: str, bucket: str) -> TubeqError:
    error = map_botocore(exc) or classify(exc)
    if isinstance(error, ArtifactNotFound):
        # HEAD answers carry no body, so botocore's error may not name the key; say it here.
        return ArtifactNotFound(f"no artifact {key!r} in bucket {bucket!r}")
    return error


class R2ArtifactStore:
    name = "r2"

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        default_expiry: timedelta = timedelta(hours=1),
    ) -> None:
        if not bucket.strip():
            raise ConfigError("TUBEQ_R2_BUCKET is empty: set it to the R2 bucket's name")
        self.client = client
        self.bucket = bucket
        self.default_expiry = check_link_lifetime(default_expiry)

    @classmethod
    def from_settings(cls, section: R2Settings) -> Self:
        secret = section.secret_access_key
        if not section.access_key_id or secret is None or not secret.get_secret_value():
            raise ConfigError(
                "the R2 artifact store needs TUBEQ_R2_ACCESS_KEY_ID and "
                "TUBEQ_R2_SECRET_ACCESS_KEY (create an R2 API token in the Cloudflare dashboard)"
            )
        client = s3_client(
            r2_endpoint(section),
            section.access_key_id,
            secret.get_secret_value(),
            connect_timeout_s=section.connect_timeout_s,
            read_timeout_s=section.read_timeout_s,
            path_style=bool(section.endpoint_url),
        )
        return cls(
            client,
            section.bucket,
            default_expiry=timedelta(seconds=section.presign_expiry_s),
        )

    # ---- the port -------------------------------------------------------------------

    def put(self, key: str, data: bytes, content_type: str, *, title: str | None = None) -> None:
        """Write an object; ``title`` (the video's) names the file people download."""
        validate_key(key)
        _check_content_type(key, content_type)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=CACHE_CONTROL,
                ContentDisposition=content_disposition(key, title),
            )
        except Exception as exc:
            raise _translate(exc, key, self.bucket) from exc

    def put_file(
        self, key: str, path: Path, content_type: str, *, title: str | None = None
    ) -> None:
        """Upload a file from disk in parts, never holding it in memory (exports)."""
        validate_key(key)
        _check_content_type(key, content_type)
        extra = {
            "ContentType": content_type,
            "CacheControl": CACHE_CONTROL,
            "ContentDisposition": content_disposition(key, title),
        }
        try:
            with path.open("rb") as fh:
                self.client.upload_fileobj(fh, self.bucket, key, ExtraArgs=extra, Config=_TRANSFER)
        except OSError as exc:
            raise InvalidInput(f"cannot read {path} to upload it as {key!r}: {exc}") from exc
        except Exception as exc:
            raise _translate(exc, key, self.bucket) from exc

    def get(self, key: str) -> bytes:
        validate_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            body = response["Body"]
            try:
                return body.read()
            finally:
                body.close()
        except Exception as exc:
            raise _translate(exc, key, self.bucket) from exc

    def exists(self, key: str) -> bool:
        validate_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise _translate(exc, key, self.bucket) from exc
        except Exception as exc:
            raise _translate(exc, key, self.bucket) from exc
        return True

    def content_type(self, key: str) -> str:
        """The content type the object was stored with."""
        validate_key(key)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise _translate(exc, key, self.bucket) from exc
        return head.get("ContentType") or "application/octet-stream"

    def url(self, key: str, expires_in: timedelta | None = None) -> str:
        """A presigned GET link valid for ``expires_in`` (default TUBEQ_PRESIGN_EXPIRY_S).

        The link carries the object's ``Content-Disposition``: the one it was stored with
        (one HEAD request), or, for an object stored without one, the video-id name. A
        missing key still gets a link, which answers 404 to whoever opens it.
        """
        validate_key(key)
        lifetime = check_link_lifetime(self.default_expiry if expires_in is None else expires_in)
        disposition = self._stored_disposition(key) or content_disposition(key)
        try:
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentDisposition": disposition,
                },
                ExpiresIn=int(lifetime.total_seconds()),
            )
        except Exception as exc:
            raise _translate(exc, key, self.bucket) from exc

    def _stored_disposition(self, key: str) -> str | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            raise _translate(exc, key, self.bucket) from exc
        except Exception as exc:
            raise _translate(exc, key, self.bucket) from exc
        return head.get("ContentDisposition") or None

    def delete(self, key: str) -> None:
        validate_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise _translate(exc, key, self.bucket) from exc

    def close(self) -> None:
        """The client is shared by the whole process and closed at exit; nothing to do."""


def _check_content_type(key: str, content_type: str) -> None:
    if not content_type or not content_type.strip():
        raise InvalidInput(f"content type for {key!r} is empty; e.g. 'text/plain'")


def _status(exc: ClientError) -> int:
    meta = exc.response.get("ResponseMetadata")
    return int(meta.get("HTTPStatusCode") or 0) if meta else 0
