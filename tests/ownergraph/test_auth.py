"""Authentication: API keys (hashed at rest) and JWTs (HS256, RS256 with a JWKS)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ownergraph.auth import (
    Authenticator,
    JWTConfig,
    KeysFileError,
    demo_keys,
    hash_key,
    load_keys_file,
    new_key,
)
from ownergraph.errors import Unauthenticated

ROLES = ["anonymous", "agent", "backoffice", "intern", "partner"]
ISSUER, AUDIENCE = "https://idp.example", "ownergraph"


def claims(**extra: Any) -> dict[str, Any]:
    return {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 3600, "sub": "svc-1", **extra}


async def test_no_header_is_anonymous() -> None:
    viewer = await Authenticator({}, ROLES).viewer(None)
    assert viewer.roles == frozenset({"anonymous"})


async def test_the_demo_keys_carry_their_roles() -> None:
    auth = Authenticator(demo_keys(), ROLES)
    viewer = await auth.viewer("Bearer demo-intern")
    assert viewer.roles == frozenset({"intern"})
    assert viewer.client == "demo intern"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Bearer nope", "unknown API key"),
        ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
        ("Bearer", "must be 'Bearer <token>'"),
        ("Bearer a.b.c", "unknown API key"),  # no JWT configured: an unknown key
    ],
)
async def test_a_bad_header_is_refused_never_anonymous(header: str, reason: str) -> None:
    with pytest.raises(Unauthenticated, match=reason) as caught:
        await Authenticator(demo_keys(), ROLES).viewer(header)
    assert caught.value.status == 401
    assert caught.value.code == "UNAUTHENTICATED"
    assert "Bearer" in caught.value.headers["WWW-Authenticate"]


def test_a_keys_file_holds_only_hashes(tmp_path: Path) -> None:
    key = new_key()
    path = tmp_path / "keys.yaml"
    entry = f"  - client: contact-center-screen\n    roles: [agent]\n    sha256: {hash_key(key)}\n"
    path.write_text("keys:\n" + entry)
    keys = load_keys_file(path, ROLES)
    assert key not in path.read_text()
    assert keys[hash_key(key)].roles == frozenset({"agent"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("keys: nope", "expected a top-level 'keys:' list"),
        ("keys:\n  - {client: a, roles: [agent]}", "give exactly client, roles and sha256"),
        ("keys:\n  - {client: a, roles: [agent], sha256: abc}", "sha256 must be 64 hex digits"),
        (f"keys:\n  - {{client: a, roles: [cto], sha256: {'a' * 64}}}", "unknown roles ['cto']"),
    ],
)
def test_a_bad_keys_file_names_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(text)
    with pytest.raises(KeysFileError, match=r"keys\.yaml") as caught:
        load_keys_file(path, ROLES)
    assert problem in str(caught.value)


async def test_hs256_tokens_are_checked_and_give_known_roles_only() -> None:
    auth = Authenticator({}, ROLES, JWTConfig(ISSUER, AUDIENCE, secret="s" * 32))
    token = jwt.encode(claims(roles=["agent", "root"], azp="crm-widget"), "s" * 32, "HS256")
    viewer = await auth.viewer(f"Bearer {token}")
    assert viewer.roles == frozenset({"agent"})
    assert viewer.client == "crm-widget"


@pytest.mark.parametrize(
    ("payload", "secret", "reason"),
    [
        (claims(exp=int(time.time()) - 10), "s" * 32, "expired"),
        (claims(iss="https://evil.example"), "s" * 32, "not valid"),
        (claims(aud="someone-else"), "s" * 32, "not valid"),
        (claims(), "x" * 32, "not valid"),
    ],
)
async def test_bad_hs256_tokens_are_refused(
    payload: dict[str, Any], secret: str, reason: str
) -> None:
    auth = Authenticator({}, ROLES, JWTConfig(ISSUER, AUDIENCE, secret="s" * 32))
    with pytest.raises(Unauthenticated, match=reason):
        await auth.viewer(f"Bearer {jwt.encode(payload, secret, 'HS256')}")


def rsa_jwks() -> tuple[Any, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    public.update({"kid": "k1", "alg": "RS256", "use": "sig"})
    return private, {"keys": [public]}


async def test_rs256_tokens_are_checked_against_a_jwks_file(tmp_path: Path) -> None:
    private, jwks = rsa_jwks()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    auth = Authenticator({}, ROLES, JWTConfig(ISSUER, AUDIENCE, jwks=str(path)))
    token = jwt.encode(claims(roles="backoffice"), private, "RS256", headers={"kid": "k1"})
    assert (await auth.viewer(f"Bearer {token}")).roles == frozenset({"backoffice"})
    unknown = jwt.encode(claims(), private, "RS256", headers={"kid": "k2"})
    with pytest.raises(Unauthenticated, match="signing key is not known"):
        await auth.viewer(f"Bearer {unknown}")


async def test_rs256_keys_from_a_url_are_fetched_once_and_cached() -> None:
    private, jwks = rsa_jwks()
    fetched: list[httpx.Request] = []

    def idp(request: httpx.Request) -> httpx.Response:
        fetched.append(request)
        return httpx.Response(200, json=jwks)

    async with httpx.AsyncClient(transport=httpx.MockTransport(idp)) as http:
        config = JWTConfig(ISSUER, AUDIENCE, jwks="https://idp.example/jwks.json")
        auth = Authenticator({}, ROLES, config, http)
        token = jwt.encode(claims(roles=["agent"]), private, "RS256", headers={"kid": "k1"})
        for _ in range(3):
            assert (await auth.viewer(f"Bearer {token}")).roles == frozenset({"agent"})
    assert len(fetched) == 1


async def test_an_algorithm_not_configured_is_refused() -> None:
    auth = Authenticator({}, ROLES, JWTConfig(ISSUER, AUDIENCE, secret="s" * 32))
    token = jwt.encode(claims(), "s" * 48, "HS384")
    with pytest.raises(Unauthenticated, match="'HS384' are not accepted"):
        await auth.viewer(f"Bearer {token}")
