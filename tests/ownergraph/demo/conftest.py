"""Shared fixtures: one seeded data dir per test session, and in-process owner clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownergraph.demo import create_owner_app

from ._owners import owner_client


@pytest.fixture(scope="session")
def data_dir(pristine_data: Path) -> Path:
    """The seeded data dir as seeded: other tests' writes never reach it."""
    return pristine_data


@pytest.fixture
async def crm(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(create_owner_app("crm", data_dir)) as client:
        yield client


@pytest.fixture
async def erp(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(create_owner_app("erp", data_dir)) as client:
        yield client


@pytest.fixture
async def helpdesk(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(create_owner_app("helpdesk", data_dir)) as client:
        yield client


@pytest.fixture
async def contactcenter(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with owner_client(create_owner_app("contactcenter", data_dir)) as client:
        yield client


@pytest.fixture(scope="session")
def all_customers(data_dir: Path) -> list[dict[str, Any]]:
    """Every CRM record, read through the CRM's own batch API (50 calls of 200 ids)."""

    async def read_all() -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        async with owner_client(create_owner_app("crm", data_dir)) as client:
            for start in range(1, 10_001, 200):
                ids = ",".join(f"C{n:05d}" for n in range(start, start + 200))
                reply = await client.get("/customers", params={"ids": ids})
                reply.raise_for_status()
                records.extend(reply.json()["customers"])
        return records

    # A session fixture outlives any one test's event loop, so it runs its own.
    return asyncio.run(read_all())
