"""Fixtures of the web tests: each test module defines its own ``world`` (a running
`safegate serve` with the data it needs); ``parent`` signs the demo parent in to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import DEMO_LOGIN, DEMO_PASSWORD, signed_in_client


@pytest.fixture(scope="module")
def parent(world: dict[str, Any]) -> Iterator[httpx.Client]:
    client = signed_in_client(world["served"].base, DEMO_LOGIN, DEMO_PASSWORD)
    yield client
    client.close()
