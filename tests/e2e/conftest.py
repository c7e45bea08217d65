"""Shared setup for end-to-end tests: the real `istio-lsp serve` process over stdio, driven by pytest-lsp."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

# No summary cache in these tests: each server starts from the files alone (the cache has its own tests).
SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "istio_lsp"], server_env={**os.environ, "ISTIO_LSP_CACHE_DIR": ""}
)


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


def accept_registrations(client: LanguageClient) -> None:
    """pytest-lsp answers registerCapability with an error unless a test client handles it."""

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(params: types.RegistrationParams) -> None:
        return None

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def _lenses(params: None) -> None:
        return None

    @client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)
    def _hints(params: None) -> None:
        return None


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root
