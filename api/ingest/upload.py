"""Receiving a dataset archive: the multipart form is read only after the caller is authenticated,
within the declared size, and the archive's content type and first bytes must agree."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from api.errors import ApiError, validation_problem
from api.ingest.archive import ArchiveError, ArchiveKind, Limits, dataset_root, extract, remove, sniff
from api.ingest.service import Source
from api.schemas.batches import IngestOptions
from gtqa.settings import Settings
from gtqa.storage import mark_unfinished

FORM_OVERHEAD = 1 << 20  # multipart boundaries and the option fields, on top of the archive itself
_LIST_FIELDS = ("predictions", "checks", "exclude")
_TYPES: dict[str, ArchiveKind | None] = {
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/gzip": "tar.gz",
    "application/x-gzip": "tar.gz",
    "application/x-tar+gzip": "tar.gz",
    "application/x-compressed-tar": "tar.gz",
    "application/octet-stream": None,  # what most clients send: the first bytes decide
}


def check_request(request: Request, settings: Settings) -> None:
    """Refuse before reading: not multipart (415), no length (411) or too long (413)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type", "send the archive as multipart/form-data")
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise ApiError(411, "length_required", "the upload must declare its Content-Length")
    if int(length) > settings.max_upload_bytes + FORM_OVERHEAD:
        raise ApiError(413, "payload_too_large", f"archives are limited to {settings.max_upload_bytes} bytes")


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=1, max_fields=64, max_part_size=64 * 1024)


def form_options(form: FormData) -> IngestOptions:
    values: dict[str, Any] = {}
    for key in set(form.keys()) - {"archive"}:
        items = form.getlist(key)
        if any(not isinstance(v, str) for v in items):
            raise ApiError(422, "validation_error", f"the field {key!r} must be text, not a file")
        values[key] = list(items) if key in _LIST_FIELDS else items[-1]
    try:
        return IngestOptions.model_validate(values)
    except ValidationError as exc:
        details = [validation_problem(e) for e in exc.errors()]
        raise ApiError(422, "validation_error", "the form is invalid", details) from None


def form_archive(form: FormData) -> UploadFile:
    archive = form.get("archive")
    if not isinstance(archive, UploadFile):
        raise ApiError(422, "validation_error", "the form needs an 'archive' file (.zip or .tar.gz)")
    declared = (archive.content_type or "application/octet-stream").split(";")[0].strip().lower()
    if declared not in _TYPES:
        raise ApiError(415, "unsupported_media_type", f"an archive is .zip or .tar.gz, not {declared}")
    return archive


def archive_name(archive: UploadFile) -> str | None:
    """The dataset name an archive's file name suggests (``kitti.tar.gz`` -> ``kitti``)."""
    name = Path(archive.filename or "").name.replace("\x00", "")
    for suffix in (".tar.gz", ".tgz", ".zip"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name[:200] or None


def unpack(archive: UploadFile, settings: Settings) -> Source:
    """Save and unpack the archive into a new job folder under ``<home>/ingest``; the folder is
    removed again if anything about the archive is wrong."""
    folder = (settings.home / "ingest" / uuid.uuid4().hex).resolve()
    (folder / "files").mkdir(parents=True)
    mark_unfinished(
        folder
    )  # until the batch is committed (api.ingest.service); else the reconciler sweeps it
    try:
        kind = _save(archive, folder / "upload", settings)
        extract(
            folder / "upload",
            kind,
            folder / "files",
            Limits(
                settings.max_extract_bytes,
                settings.max_archive_members,
                settings.max_member_bytes,
                settings.max_compression_ratio,
            ),
        )
        (folder / "upload").unlink()
    except (ArchiveError, ApiError) as exc:
        remove(folder)
        if isinstance(exc, ApiError):
            raise
        raise ApiError(422, "bad_archive", str(exc)) from None
    except BaseException:
        remove(folder)
        raise
    files = folder / "files"
    return Source(root=dataset_root(files), boundary=files, shown_as=str(files), owned=folder)


def _save(archive: UploadFile, target: Path, settings: Settings) -> ArchiveKind:
    written = 0
    with target.open("xb") as out:
        archive.file.seek(0)
        for chunk in iter(lambda: archive.file.read(1 << 20), b""):
            written += len(chunk)
            if written > settings.max_upload_bytes:
                raise ApiError(
                    413, "payload_too_large", f"archives are limited to {settings.max_upload_bytes} bytes"
                )
            out.write(chunk)
    kind = sniff(target)
    if kind is None:
        raise ApiError(422, "bad_archive", "the file is neither a zip nor a gzip archive")
    declared = _TYPES[(archive.content_type or "application/octet-stream").split(";")[0].strip().lower()]
    if declared is not None and declared != kind:
        raise ApiError(
            415, "unsupported_media_type", f"the content type says {declared}, the file is a {kind}"
        )
    return kind
