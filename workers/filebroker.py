"""The embedded broker: kombu's filesystem transport made safe against torn message files.

kombu's filesystem transport (``kombu/transport/filesystem.py``) creates a message file under its final
name and then writes it, and its reader takes any file with the queue's suffix without a lock: a worker
that lists the folder between the two reads an empty or half-written file, and the ``JSONDecodeError``
ends the worker ("Unrecoverable error", kombu issue #1551). A sender killed mid-write leaves such a file
behind for good.

Here a sender writes the message under a temporary name in ``<broker>/tmp`` (same file system) and
renames it into the queue folder, so a message file is either absent or whole (``os.replace`` is
atomic). A reader that still finds a file that does not parse (a file planted or damaged by anything
else) moves it to ``<broker>/quarantine``, logs it, and takes the next message: one bad file costs that
message (the reconciler re-sends its chunk once its lease is stale), never the worker.

The transport is chosen by ``broker_transport`` = ``workers.filebroker:Transport`` (see
``workers.app``); ``broker_url`` stays ``filesystem://``.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)

TMP_FOLDER_OPTION = "tmp_folder"
QUARANTINE_FOLDER_OPTION = "quarantine_folder"


class Channel(filesystem.Channel):
    """Atomic writes, quarantining reads; everything else is kombu's."""

    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        tmp_folder = Path(self._tmp_folder())
        tmp = tmp_folder / f"{name}.part"
        try:
            tmp_folder.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as f:
                f.write(dumps(payload).encode())  # type: ignore[no-untyped-call]
            os.replace(tmp, Path(self.data_folder_out) / name)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        suffix = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != suffix:
                continue
            taken = self._take(name)
            if taken is None:
                continue  # another worker took it first
            try:
                raw = taken.read_bytes()
                if not self.store_processed:
                    taken.unlink()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {str(taken)!r} from queue.") from exc
            try:
                return loads(raw.decode())  # type: ignore[no-untyped-call]
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                self._quarantine(taken, raw, exc)
        raise Empty()

    def _take(self, name: str) -> Path | None:
        """Move a message file out of the queue folder (one rename: two workers never both take it)."""
        source = Path(self.data_folder_in) / name
        folder = Path(self.processed_folder) if self.store_processed else Path(self._tmp_folder())
        target = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            os.rename(source, target)
        except OSError:
            return None
        return target

    def _quarantine(self, path: Path, raw: bytes, exc: Exception) -> None:
        folder = Path(self._option(QUARANTINE_FOLDER_OPTION, "quarantine"))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.move(path, folder / path.name)
            where = folder / path.name
        except OSError:
            path.unlink(missing_ok=True)
            where = None
        log.warning(
            "broker: message file %s does not parse (%d bytes: %s); %s",
            path.name,
            len(raw),
            exc,
            f"moved to {where}" if where else "deleted",
        )

    def _tmp_folder(self) -> str:
        return str(self._option(TMP_FOLDER_OPTION, "tmp"))

    def _option(self, key: str, default: str) -> str:
        return str(self.transport_options.get(key, default))


class Transport(filesystem.Transport):
    Channel = Channel
    driver_type = "filesystem"
    driver_name = "gtqa-filesystem"
