"""An owner's OpenAPI document, from a URL or a file, with the system it describes.

Each document becomes one system of the starter map: named from its
`info.title` (or as the command line says), reached at its first server's
URL, else at the origin of the URL it was fetched from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import yaml

from ._names import slug

SYSTEM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FETCH_TIMEOUT = 10.0


class StarterError(ValueError):
    """A starter graph cannot be made; the message names the source and what is wrong."""


@dataclass(frozen=True)
class OwnerDocument:
    """One owner's OpenAPI document and the system it becomes."""

    name: str
    url: str
    """The system's base URL."""
    document: dict[str, Any]
    source: str
    """Where the document came from, as given."""
    url_guessed: bool = False
    """True when nothing said where the system is (a file without `servers:`)."""


def read_document(source: str, name: str | None = None) -> OwnerDocument:
    """The OpenAPI 3 document at `source` (an http(s) URL or a file), as system `name`."""
    if name is not None and not SYSTEM_NAME.match(name):
        raise StarterError(
            f"--name {name}={source}: a system name is lower-case letters, digits and _, "
            f"starting with a letter (e.g. {slug(name)})"
        )
    is_url = urlsplit(source).scheme in ("http", "https")
    text = _fetch(source) if is_url else _read(source)
    document = _parse(source, text)
    _check_version(source, document)
    info = document.get("info")
    title = info.get("title") if isinstance(info, dict) else None
    url, guessed = _base_url(source, document, is_url)
    return OwnerDocument(
        name=name or slug(title if isinstance(title, str) else Path(urlsplit(source).path).stem),
        url=url,
        document=document,
        source=source,
        url_guessed=guessed,
    )


def _fetch(url: str) -> str:
    try:
        response = httpx.get(url, timeout=_FETCH_TIMEOUT, follow_redirects=True)
    except httpx.HTTPError as error:
        raise StarterError(f"{url}: cannot fetch it ({type(error).__name__}: {error})") from None
    if response.status_code != 200:
        raise StarterError(f"{url}: answered {response.status_code}, not the document")
    return response.text


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise StarterError(f"{path}: cannot read it ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise StarterError(f"{path}: not a text file (expected JSON or YAML)") from None


def _parse(source: str, text: str) -> dict[str, Any]:
    try:
        document: Any = json.loads(text)
    except ValueError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            raise StarterError(f"{source}: neither JSON nor YAML") from None
    if not isinstance(document, dict):
        raise StarterError(f"{source}: not an OpenAPI document (expected an object)")
    return document


def _check_version(source: str, document: dict[str, Any]) -> None:
    version = document.get("openapi")
    if "swagger" in document:
        raise StarterError(
            f"{source}: a Swagger {document['swagger']} document: only OpenAPI 3.x is read "
            "(convert it to OpenAPI 3 first)"
        )
    if not isinstance(version, str) or not version.startswith("3."):
        raise StarterError(f"{source}: not an OpenAPI 3.x document (its 'openapi' is {version!r})")
    if not isinstance(document.get("paths"), dict):
        raise StarterError(f"{source}: the document has no paths")


def _base_url(source: str, document: dict[str, Any], is_url: bool) -> tuple[str, bool]:
    """The first server's URL (variables at their defaults), relative to where it came from."""
    servers = document.get("servers")
    server = servers[0] if isinstance(servers, list) and servers else None
    given = server.get("url") if isinstance(server, dict) else None
    if isinstance(given, str) and given:
        variables = server.get("variables") if isinstance(server, dict) else None
        for variable, spec in (variables or {}).items():
            if isinstance(spec, dict) and "default" in spec:
                given = given.replace("{" + variable + "}", str(spec["default"]))
        if urlsplit(given).scheme in ("http", "https"):
            return given.rstrip("/"), False
        if is_url:
            return urljoin(source, given).rstrip("/"), False
    if is_url:
        parts = urlsplit(source)
        return f"{parts.scheme}://{parts.netloc}", False
    return "http://localhost:8080", True
