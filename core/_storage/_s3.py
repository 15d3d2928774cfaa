"""Content-addressed file blobs in an S3-compatible bucket: ``s3://BUCKET/PREFIX``.

Keys are ``<prefix>/blobs/sha256/<sha[:2]>/<sha>``. Content is hashed first (spooled to a
temporary file when large), an object already there is not uploaded again, and a new one is
written with ``If-None-Match: *`` so two processes racing on the same content both succeed
without overwriting each other. Above ``multipart_threshold`` the upload is multipart.

Endpoint, region and credentials come from the standard AWS environment (``AWS_ENDPOINT_URL``
/ ``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``AWS_PROFILE``, instance roles): whatever boto3 finds. boto3 is
imported on first use only (``pip install 'naiad[s3]'``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, BinaryIO

from ..errors import StorageError
from ._blobs import Verified

_HEX = re.compile(r"^[0-9a-f]{64}$")
_BLOCK = 1 << 20
MULTIPART_THRESHOLD = 8 << 20  # bytes; S3 parts must be >= 5 MiB except the last
_SPOOL_IN_MEMORY = 8 << 20


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → (``bucket``, ``some/prefix``)."""
    if not uri.startswith("s3://"):
        raise StorageError(f"Not an S3 location: {uri!r}; write it as s3://BUCKET/PREFIX.")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise StorageError(f"The S3 location {uri!r} names no bucket; write it as s3://BUCKET/PREFIX.")
    return bucket, prefix.strip("/")


class S3Blobs:
    """Blobs in ``s3://bucket/prefix``; the bucket must exist.

    Example:
        >>> blobs = S3Blobs("s3://team-bucket/naiad")  # doctest: +SKIP
        >>> sha, size = blobs.put(b"weights")  # doctest: +SKIP
    """

    def __init__(self, uri: str, *, multipart_threshold: int = MULTIPART_THRESHOLD) -> None:
        self.uri = uri.rstrip("/")
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.multipart_threshold = max(multipart_threshold, 5 << 20)
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Blobs({self.uri!r})"

    # -- the client --------------------------------------------------------------------------
    def client(self) -> Any:
        """The boto3 S3 client, created on first use (one per store handle; thread-safe)."""
        with self._lock:
            if self._client is None:
                try:
                    import boto3
                    from botocore.config import Config
                except ModuleNotFoundError as e:
                    raise ModuleNotFoundError(
                        f"File blobs in {self.uri} need boto3: pip install 'naiad[s3]'."
                    ) from e
                custom = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                # S3-compatible servers on a host name of their own (MinIO, moto, Ceph) want
                # path-style addressing; AWS itself keeps boto3's default.
                config = Config(
                    s3={"addressing_style": "path"} if custom else {},
                    retries={"max_attempts": 5, "mode": "standard"},
                )
                self._client = boto3.session.Session().client("s3", config=config)
            return self._client

    def key(self, sha256: str) -> str:
        if not _HEX.match(sha256):
            raise StorageError(f"Not a sha256 blob key: {sha256!r}.")
        head = f"{self.prefix}/" if self.prefix else ""
        return f"{head}blobs/sha256/{sha256[:2]}/{sha256}"

    # -- the BlobStore half ------------------------------------------------------------------
    def put(self, source: Path | bytes | BinaryIO) -> tuple[str, int]:
        """Store ``source``; return (sha256, size). Content already in the bucket is not sent."""
        spool, sha, size = _hash_and_spool(source)
        try:
            key = self.key(sha)
            if self._head(key):
                return sha, size
            if size >= self.multipart_threshold:
                self._multipart(key, spool, sha, size)
            else:
                self._single(key, spool.read(), sha)
            return sha, size
        finally:
            spool.close()

    def open(self, sha256: str) -> BinaryIO:
        key = self.key(sha256)
        try:
            obj = self.client().get_object(Bucket=self.bucket, Key=key)
        except Exception as e:
            if _code(e) in ("NoSuchKey", "404"):
                raise StorageError(
                    f"File blob {sha256} is missing from {self.uri} (key {key}): it was deleted "
                    "from the bucket, or the run was logged with another blobs= location."
                ) from None
            raise self._error("read", key, e) from e
        raw = io.BufferedReader(_Body(obj["Body"]), buffer_size=_BLOCK)
        return Verified(raw, sha256, int(obj["ContentLength"]), self.uri)  # type: ignore[return-value]

    def exists(self, sha256: str) -> bool:
        return self._head(self.key(sha256))

    def presign(self, sha256: str, expires_s: int = 3600, filename: str | None = None) -> str:
        """A time-limited GET URL for the blob (for browsers and clients without keys)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(sha256)}
        if filename is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        try:
            return str(self.client().generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s))
        except Exception as e:
            raise self._error("sign a URL for", params["Key"], e) from e

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- internals ---------------------------------------------------------------------------
    def _head(self, key: str) -> bool:
        try:
            self.client().head_object(Bucket=self.bucket, Key=key)
            return True
        except Exception as e:
            if _code(e) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._error("look up", key, e) from e

    def _single(self, key: str, data: bytes, sha: str) -> None:
        try:
            self.client().put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                IfNoneMatch="*",
                ContentType="application/octet-stream",
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha)).decode(),
                Metadata={"sha256": sha},
            )
        except Exception as e:
            if _code(e) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return  # another process stored the same content first
            raise self._error("write", key, e) from e

    def _multipart(self, key: str, spool: IO[bytes], sha: str, size: int) -> None:
        client = self.client()
        try:
            upload = client.create_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                ContentType="application/octet-stream",
                ChecksumAlgorithm="SHA256",
                Metadata={"sha256": sha},
            )["UploadId"]
        except Exception as e:
            raise self._error("start a multipart upload of", key, e) from e
        try:
            parts = []
            number = 1
            while block := spool.read(self.multipart_threshold):
                digest = base64.b64encode(hashlib.sha256(block).digest()).decode()
                part = client.upload_part(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload,
                    PartNumber=number,
                    Body=block,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=digest,
                )
                parts.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": digest})
                number += 1
            client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException as e:
            # best effort: a leftover upload expires by the bucket's lifecycle rules anyway
            with contextlib.suppress(Exception):
                client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
            if isinstance(e, Exception) and _code(e) in ("PreconditionFailed", "412"):
                return
            if isinstance(e, Exception):
                raise self._error("write", key, e) from e
            raise

    def _error(self, action: str, key: str, e: Exception) -> StorageError:
        code = _code(e)
        where = f"s3://{self.bucket}/{key}"
        if code == "NoSuchBucket":
            fix = f"create the bucket first (aws s3 mb s3://{self.bucket}) or fix blobs="
        elif code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
            fix = "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE and the bucket policy"
        elif type(e).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
            fix = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
        elif type(e).__name__ in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
            fix = "check AWS_ENDPOINT_URL and that the S3 server is reachable"
        else:
            fix = "check the S3 settings in the AWS environment"
        return StorageError(f"Cannot {action} the file blob {where}: {e}. Fix: {fix}.")


class _Body(io.RawIOBase):
    """A botocore streaming body as a raw binary stream (closed with the reader)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _code(e: Exception) -> str:
    response = getattr(e, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _hash_and_spool(source: Path | bytes | BinaryIO) -> tuple[IO[bytes], str, int]:
    """Read ``source`` once: its sha256, its size, and a rewound copy to upload from."""
    digest = hashlib.sha256()
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        digest.update(data)
        return io.BytesIO(data), digest.hexdigest(), len(data)
    if isinstance(source, Path):
        # a file on disk is read twice instead of copied: hashing is cheaper than a spool
        f: IO[bytes] = source.open("rb")
        try:
            size = 0
            while block := f.read(_BLOCK):
                digest.update(block)
                size += len(block)
            f.seek(0)
        except BaseException:
            f.close()
            raise
        return f, digest.hexdigest(), size
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - the caller closes it
    size = 0
    while block := source.read(_BLOCK):
        raw = block if isinstance(block, bytes) else str(block).encode("utf-8")
        digest.update(raw)
        size += len(raw)
        spool.write(raw)
    spool.seek(0)
    return spool, digest.hexdigest(), size
