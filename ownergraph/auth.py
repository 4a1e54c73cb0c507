"""Who is asking: API keys and JWTs, turned into a client name and its roles.

`Authorization: Bearer <token>`. A token with two dots is a JWT (HS256 or
RS256, checked for issuer, audience and expiry); anything else is an API key,
looked up by its SHA-256 (keys are random, high-entropy secrets, and only
their hashes are stored). No header at all is the anonymous role; a header
that cannot be accepted is `Unauthenticated` (HTTP 401), never anonymous.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import yaml
from cachetools import TTLCache

from ownergraph.resolvers import Viewer

from .errors import Unauthenticated

ANONYMOUS = "anonymous"
DEMO_ROLES = ("agent", "backoffice", "intern", "partner")
DEMO_KEYS = {f"demo-{role}": role for role in DEMO_ROLES}
"""The demo's API keys: `Authorization: Bearer demo-agent` and so on."""

_JWKS_TTL = 300.0


class KeysFileError(ValueError):
    """The API keys file cannot be used; the message names the file, entry and problem."""


def hash_key(key: str) -> str:
    """The SHA-256 of an API key, as stored in a keys file."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random API key (256 bits)."""
    return "og_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ApiKey:
    client: str
    roles: frozenset[str]


def load_keys_file(path: Path, known_roles: Iterable[str]) -> dict[str, ApiKey]:
    """API keys by hash from a YAML file: ``keys: [{client, roles, sha256}]``."""
    known = frozenset(known_roles)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise KeysFileError(f"{path}: cannot read the file: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise KeysFileError(f"{path}: not valid YAML: {error}") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise KeysFileError(f"{path}: expected a top-level 'keys:' list")
    keys: dict[str, ApiKey] = {}
    for number, entry in enumerate(entries, 1):
        where = f"{path}: key #{number}"
        if not isinstance(entry, dict) or set(entry) != {"client", "roles", "sha256"}:
            raise KeysFileError(f"{where}: give exactly client, roles and sha256")
        digest, roles = entry["sha256"], entry["roles"]
        if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
            raise KeysFileError(f"{where}: sha256 must be 64 hex digits (ownergraph keys new)")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise KeysFileError(f"{where}: roles must be a list of role names")
        unknown = sorted(set(roles) - known)
        if unknown:
            raise KeysFileError(f"{where}: unknown roles {unknown}; the map knows {sorted(known)}")
        keys[digest.lower()] = ApiKey(str(entry["client"]), frozenset(roles))
    return keys


def demo_keys() -> dict[str, ApiKey]:
    return {
        hash_key(key): ApiKey(client=f"demo {role}", roles=frozenset({role}))
        for key, role in DEMO_KEYS.items()
    }


@dataclass(frozen=True)
class JWTConfig:
    """How JWTs are checked. Either `secret` (HS256) or `jwks` (RS256, a file or URL)."""

    issuer: str
    audience: str
    secret: str | None = None
    jwks: str | None = None
    roles_claim: str = "roles"


class Authenticator:
    """Turns the Authorization header of a request into a `Viewer`."""

    def __init__(
        self,
        keys: Mapping[str, ApiKey],
        known_roles: Iterable[str],
        jwt_config: JWTConfig | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._keys = dict(keys)
        self._known = frozenset(known_roles)
        self._jwt = jwt_config
        self._http = http
        self._jwks: TTLCache[str, jwt.PyJWKSet] = TTLCache(maxsize=4, ttl=_JWKS_TTL)
        if jwt_config and jwt_config.jwks and not _is_url(jwt_config.jwks):
            # A JWKS file is read once, at start-up, so a bad one fails fast.
            self._jwks[jwt_config.jwks] = _jwks_from(Path(jwt_config.jwks).read_text())

    async def viewer(self, authorization: str | None) -> Viewer:
        if authorization is None:
            return Viewer(client=ANONYMOUS, roles=frozenset({ANONYMOUS}))
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        if token.count(".") == 2 and self._jwt is not None:
            return await self._from_jwt(token)
        key = self._keys.get(hash_key(token))
        if key is None:
            raise Unauthenticated("unknown API key")
        return Viewer(client=key.client, roles=key.roles)

    async def _from_jwt(self, token: str) -> Viewer:
        config = self._jwt
        assert config is not None
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if algorithm == "HS256" and config.secret:
                key: Any = config.secret
            elif algorithm == "RS256" and config.jwks:
                key = (await self._jwk_set(config.jwks))[str(header.get("kid"))].key
            else:
                raise Unauthenticated(f"tokens signed with {algorithm!r} are not accepted")
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=config.issuer,
                audience=config.audience,
                options={"require": ["exp", "iss", "aud"]},
            )
        except KeyError:
            raise Unauthenticated("the token's signing key is not known") from None
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"the token is not valid ({error})") from None
        roles = claims.get(config.roles_claim, [])
        if isinstance(roles, str):
            roles = roles.split()
        if not isinstance(roles, list):
            raise Unauthenticated(f"the token's {config.roles_claim!r} claim is not a list")
        client = claims.get("azp") or claims.get("client_id") or claims.get("sub") or "unknown"
        return Viewer(client=str(client), roles=frozenset(roles) & self._known)

    async def _jwk_set(self, source: str) -> jwt.PyJWKSet:
        cached = self._jwks.get(source)
        if cached is not None:
            return cached
        if self._http is None:
            raise Unauthenticated("the token's signing keys cannot be fetched")
        try:
            response = await self._http.get(source, timeout=2.0)
            response.raise_for_status()
            keys = _jwks_from(response.text)
        except (httpx.HTTPError, ValueError, jwt.PyJWKError):
            raise Unauthenticated("the token's signing keys cannot be fetched") from None
        self._jwks[source] = keys
        return keys


def _jwks_from(text: str) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(json.loads(text))


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _is_hex(value: str) -> bool:
    try:
        int(value, 16)
    except ValueError:
        return False
    return True
