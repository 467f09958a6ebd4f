"""Shared fixtures. Real data is read from ../shared/data (never copied); the network is closed except
loopback, so no test can reach a real model endpoint (the OpenAI API is mocked with respx)."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GTQA_DATA_DIR", REPO.parent / "shared" / "data"))

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if isinstance(host, str) and not _is_local(host):
        raise RuntimeError(f"tests may not reach the network ({host}); mock it with respx")
    _real_connect(self, address)  # type: ignore[arg-type]


def _is_local(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared KITTI data not found at {SHARED_DATA} (set GTQA_DATA_DIR)")
    return SHARED_DATA
