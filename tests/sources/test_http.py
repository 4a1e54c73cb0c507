"""The owner HTTP clients over real loopback sockets: what goes out, what comes back, what breaks.

`Owner` is a scripted HTTP/1.1 server: it reads each request whole, records its
raw bytes and the connection it came on, and answers with whatever bytes the
test gives, so every shape of answer and every way a connection can end is
exercised against the client as it runs in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio

from ownergraph.sources import (
    ConnectFailed,
    ConnectionBroke,
    OwnerRequest,
    PooledHTTP,
    TransportHTTP,
)
from ownergraph.sources import http as owner_http

from ..proxy import _read_message
from ._loopback import loopback

OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
Answer = Callable[[int, bytes], bytes | None]
"""(the request's number on its connection, its raw bytes) -> the answer, or None to close."""


@dataclass
class Seen:
    connection: int
    raw: bytes

    @property
    def head(self) -> list[str]:
        return self.raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")

    @property
    def headers(self) -> dict[str, str]:
        return dict(
            (name.lower(), value.strip())
            for name, _, value in (line.partition(":") for line in self.head[1:])
        )

    @property
    def body(self) -> bytes:
        return self.raw.split(b"\r\n\r\n", 1)[1]


@dataclass
class Owner:
    answer: Answer = lambda _n, _raw: OK
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    url: str = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection, number = self.connections, 0
        try:
            while (raw := await _read_message(reader)) is not None:
                number += 1
                self.seen.append(Seen(connection, raw))
                reply = self.answer(number, raw)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        finally:
            writer.close()


@pytest_asyncio.fixture
async def owner() -> AsyncIterator[Owner]:
    serving = Owner()
    async with loopback(serving.serve) as serving.url:
        yield serving


@pytest_asyncio.fixture
async def client(owner: Owner) -> AsyncIterator[PooledHTTP]:
    pool = PooledHTTP(owner.url, headers={"Authorization": "Bearer s3cret"})
    yield pool
    await pool.aclose()


def get(path: str, **query: object) -> OwnerRequest:
    return OwnerRequest("GET", path, query=query or None)


# -- what goes out -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/customers", {"ids": "C1,C2,C3"}),
        ("/customers/C%2F1", None),
        ("/search", {"q": "a b&c=d/é", "limit": 5}),
        ("/tickets", {"requester_ids": "C1", "status": "open"}),
    ],
)
async def test_the_request_line_is_the_escaped_path_and_query(
    owner: Owner, client: PooledHTTP, path: str, query: dict[str, object] | None
) -> None:
    await client.send(OwnerRequest("GET", path, query=query))
    [seen] = owner.seen
    target = path + ("?" + urlencode(query, safe=",") if query else "")
    assert seen.head[0] == f"GET {target} HTTP/1.1"
    # What the owner's framework reads back is what was meant.
    assert httpx.URL(owner.url + target).params == httpx.QueryParams(query or {})


async def test_fixed_headers_go_with_every_request_and_a_read_has_no_body(
    owner: Owner, client: PooledHTTP
) -> None:
    await client.send(get("/customers/C1"))
    [seen] = owner.seen
    port = owner.url.rsplit(":", 1)[1]
    assert seen.headers["host"] == f"127.0.0.1:{port}"
    assert seen.headers["authorization"] == "Bearer s3cret"
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["user-agent"].startswith("ownergraph")
    assert "content-length" not in seen.headers
    assert seen.body == b""


async def test_a_write_carries_its_json_body_and_its_own_headers_only(
    owner: Owner, client: PooledHTTP
) -> None:
    await client.send(
        OwnerRequest(
            "POST", "/tickets", json_body={"subject": "é"}, headers={"Idempotency-Key": "k1"}
        )
    )
    await client.send(get("/tickets/T1"))
    write, read = owner.seen
    assert write.headers["content-type"] == "application/json"
    assert write.headers["idempotency-key"] == "k1"
    assert write.body == '{"subject":"é"}'.encode()
    assert int(write.headers["content-length"]) == len(write.body)
    assert "idempotency-key" not in read.headers


async def test_a_base_url_with_a_path_keeps_it(owner: Owner) -> None:
    pool = PooledHTTP(owner.url + "/api/")
    try:
        await pool.send(get("/customers", ids="C1"))
    finally:
        await pool.aclose()
    assert owner.seen[0].head[0] == "GET /api/customers?ids=C1 HTTP/1.1"


async def test_a_line_break_in_a_header_is_refused_before_anything_is_sent(
    owner: Owner, client: PooledHTTP
) -> None:
    request = OwnerRequest("GET", "/x", headers={"x-note": "a\r\nx-admin: yes"})
    with pytest.raises(ValueError, match="line break"):
        await client.send(request)
    assert not request.sent
    assert owner.seen == []
    with pytest.raises(ValueError, match="line break"):
        PooledHTTP(owner.url, headers={"authorization": "x\nEvil: 1"})


def test_only_http_urls_are_taken() -> None:
    with pytest.raises(ValueError, match="not an http"):
        PooledHTTP("ftp://crm.example")


# -- what comes back -----------------------------------------------------------------


async def test_status_headers_and_body_are_read(owner: Owner, client: PooledHTTP) -> None:
    owner.answer = lambda _n, _raw: (
        b"HTTP/1.1 201 Created\r\nRetry-After: 3\r\nX-Tag: a\r\nx-tag: b\r\n"
        b'content-length: 11\r\n\r\n{"id":"T1"}'
    )
    response = await client.send(get("/tickets/T1"))
    assert response.status == 201
    assert response.headers["retry-after"] == "3"
    assert response.headers["x-tag"] == "a, b"  # repeated headers joined, as RFC 9110 says
    assert response.body == b'{"id":"T1"}'


async def test_a_chunked_answer_is_read_whole(owner: Owner, client: PooledHTTP) -> None:
    owner.answer = lambda _n, _raw: (
        b'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'
    )
    first = await client.send(get("/a"))
    second = await client.send(get("/b"))
    assert first.body == second.body == b'{"a":1}'
    assert owner.connections == 1


@contextlib.asynccontextmanager
async def answering_once(reply: bytes) -> AsyncIterator[PooledHTTP]:
    """A client of a server that answers one request with `reply`, then closes the connection."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await _read_message(reader) is not None:
            writer.write(reply)
            await writer.drain()

    async with loopback(serve) as url:
        pool = PooledHTTP(url)
        try:
            yield pool
        finally:
            await pool.aclose()


async def test_an_answer_without_a_length_ends_when_the_owner_closes() -> None:
    async with answering_once(b'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{"all":true}') as pool:
        response = await asyncio.wait_for(pool.send(get("/all")), 5)
    assert response.body == b'{"all":true}'


async def test_a_kept_alive_connection_is_reused(owner: Owner, client: PooledHTTP) -> None:
    for _ in range(3):
        assert (await client.send(get("/customers/C1"))).status == 200
    assert owner.connections == 1
    assert [seen.connection for seen in owner.seen] == [1, 1, 1]


async def test_an_answer_saying_close_is_not_reused(owner: Owner, client: PooledHTTP) -> None:
    owner.answer = lambda _n, _raw: (
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}"
    )
    await client.send(get("/a"))
    await client.send(get("/b"))
    assert owner.connections == 2


async def test_concurrent_calls_each_have_a_connection(owner: Owner, client: PooledHTTP) -> None:
    answers = await asyncio.gather(*(client.send(get(f"/c/{i}")) for i in range(4)))
    assert [a.status for a in answers] == [200] * 4
    assert owner.connections == 4
    await asyncio.gather(*(client.send(get(f"/c/{i}")) for i in range(4)))
    assert owner.connections == 4  # all four kept for the next round


# -- what breaks ---------------------------------------------------------------------


async def test_a_refused_connection_was_never_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool = PooledHTTP(f"http://127.0.0.1:{port}")
    request = OwnerRequest("POST", "/tickets", json_body={})
    with pytest.raises(ConnectFailed, match="could not connect"):
        await pool.send(request)
    assert not request.sent


async def test_an_answer_cut_short_breaks_the_connection() -> None:
    request = get("/customers")
    cut = b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial"'
    async with answering_once(cut) as pool:
        with pytest.raises(ConnectionBroke, match="closed before the answer"):
            await pool.send(request)
        assert pool._idle == []
    assert request.sent


async def test_an_answer_that_is_not_http_breaks_the_connection(
    owner: Owner, client: PooledHTTP
) -> None:
    owner.answer = lambda _n, _raw: b"SSH-2.0-OpenSSH_9.2\r\n\r\n"
    with pytest.raises(ConnectionBroke, match="not HTTP"):
        await client.send(get("/customers"))
    assert client._idle == []


async def test_an_answer_too_long_is_cut_off(
    owner: Owner, client: PooledHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(owner_http, "MAX_ANSWER_BYTES", 1000)
    owner.answer = lambda _n, _raw: b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n" + b"x" * 5000
    with pytest.raises(ConnectionBroke, match="longer than 1000 bytes"):
        await client.send(get("/customers"))


async def test_a_timeout_mid_answer_drops_the_connection(owner: Owner, client: PooledHTTP) -> None:
    partial = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{"
    owner.answer = lambda _n, raw: partial if raw.startswith(b"GET /slow") else OK
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await client.send(get("/slow"))
    # The half-read connection is never handed out again.
    assert (await client.send(get("/next"))).status == 200
    assert owner.connections == 2


async def test_an_owner_speaking_out_of_turn_is_not_trusted_again(
    owner: Owner, client: PooledHTTP
) -> None:
    owner.answer = lambda n, _raw: OK + b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    await client.send(get("/a"))
    await asyncio.sleep(0.05)  # the extra answer arrives while the connection is idle
    await client.send(get("/b"))
    assert owner.connections == 2


async def test_a_read_on_a_connection_the_owner_just_closed_goes_again_on_a_new_one(
    owner: Owner, client: PooledHTTP
) -> None:
    # The owner takes the second request on a kept-alive connection and closes it
    # unanswered: what a client sees when its idle connection times out on the
    # owner's side just as a request goes out.
    owner.answer = lambda n, _raw: OK if n == 1 else None
    await client.send(get("/a"))
    assert (await client.send(get("/b"))).status == 200
    assert [(seen.connection, seen.head[0].split()[1]) for seen in owner.seen] == [
        (1, "/a"),
        (1, "/b"),
        (2, "/b"),
    ]


async def test_a_write_on_a_connection_that_breaks_is_not_sent_again(
    owner: Owner, client: PooledHTTP
) -> None:
    owner.answer = lambda n, _raw: OK if n == 1 else None
    await client.send(OwnerRequest("POST", "/tickets", json_body={"n": 1}))
    request = OwnerRequest("POST", "/tickets", json_body={"n": 2})
    with pytest.raises(ConnectionBroke):
        await client.send(request)
    assert request.sent  # it may have been applied: the source says the outcome is unknown
    assert len([seen for seen in owner.seen if seen.body == b'{"n":2}']) == 1


async def test_a_write_takes_only_a_connection_idle_for_under_a_second(owner: Owner) -> None:
    now = [0.0]
    pool = PooledHTTP(owner.url, clock=lambda: now[0])
    try:
        await pool.send(get("/a"))
        now[0] += 2
        await pool.send(OwnerRequest("POST", "/tickets", json_body={}))
        assert owner.connections == 2  # the idle one was too old for a write...
        await pool.send(get("/b"))
        assert owner.connections == 2  # ...not for a read
        now[0] += owner_http.KEEPALIVE_SECONDS
        await pool.send(get("/c"))
        assert owner.connections == 3  # and past the keep-alive, for nothing
    finally:
        await pool.aclose()


# -- through an httpx transport ------------------------------------------------------


async def test_an_httpx_transport_gets_the_same_request() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "T1"}, headers={"Retry-After": "2"})

    http = TransportHTTP(
        "http://crm.test/", httpx.MockTransport(answer), headers={"Authorization": "Bearer k"}
    )
    request = OwnerRequest(
        "POST",
        "/tickets",
        query={"q": "a b"},
        json_body={"subject": "é"},
        headers={"Idempotency-Key": "k1"},
    )
    response = await http.send(request)
    assert request.sent
    assert (response.status, response.body) == (201, b'{"id":"T1"}')
    assert response.headers["retry-after"] == "2"
    [sent] = seen
    assert str(sent.url) == "http://crm.test/tickets?q=a+b"
    assert sent.headers["authorization"] == "Bearer k"
    assert sent.headers["idempotency-key"] == "k1"
    assert sent.headers["content-type"] == "application/json"
    assert sent.content == '{"subject":"é"}'.encode()


# -- over TLS ------------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "owner.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "owner.pem", directory / "owner.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_an_https_owner_is_checked_against_the_trusted_certificates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await _read_message(reader) is not None:
            writer.write(OK)
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        # Not trusted: no connection, and nothing sent.
        untrusting = PooledHTTP(url)
        request = get("/customers")
        with pytest.raises(ConnectFailed, match="could not connect"):
            await untrusting.send(request)
        assert not request.sent
        # Trusted the way OpenSSL is told to everywhere: SSL_CERT_FILE.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusting = PooledHTTP(url)
        try:
            assert (await trusting.send(get("/customers"))).status == 200
            assert (await trusting.send(get("/customers"))).status == 200
        finally:
            await trusting.aclose()


@pytest.mark.parametrize(
    "query",
    [
        {"ids": "C1,C2,C3"},
        {"q": "a b&c=d/é", "limit": 5},
        {"plain": "A-z_0.9~,"},
        {"é": "ü", "n": None, "list": [1, 2]},
    ],
)
def test_a_query_is_written_as_urlencode_writes_it(query: dict[str, object]) -> None:
    assert OwnerRequest("GET", "/p", query=query).target() == "/p?" + urlencode(query, safe=",")
