from ownergraph.asgi import request_headers


def test_headers_by_name_first_of_repeated_and_read_once() -> None:
    scope = {
        "type": "http",
        "headers": [
            (b"authorization", b"Bearer first"),
            (b"x-deadline-ms", b"250"),
            (b"authorization", b"Bearer second"),
        ],
    }
    headers = request_headers(scope)
    # The first of a repeated header, as Starlette's Headers.get gives it.
    assert headers == {"authorization": "Bearer first", "x-deadline-ms": "250"}
    assert request_headers(scope) is headers


def test_header_values_are_latin_1() -> None:
    scope = {"type": "http", "headers": [(b"x-request-id", "caf\u00e9".encode("latin-1"))]}
    assert request_headers(scope)["x-request-id"] == "caf\u00e9"
