"""A starter graph from small hand-written OpenAPI documents, one recognition rule at a time.

Every pair made here is loaded by the real loaders (the checks `ownergraph
check` runs), so each rule is shown to give a graph that passes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from graphql import GraphQLEnumType, GraphQLObjectType

from ownergraph import Settings, create_app
from ownergraph.auth import hash_key
from ownergraph.resolvers.selection import argument_default
from ownergraph.schema import Graph, load_files
from ownergraph.starter import (
    OwnerDocument,
    Starter,
    StarterError,
    make_starter,
    read_document,
    write_starter,
)
from ownergraph.starter._names import camel, constant, pascal, plural, singular, slug

STRING = {"type": "string"}
READER_KEY = "reader-key-for-tests"


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def listed(records: str, item: dict[str, Any]) -> dict[str, Any]:
    return obj(**{records: {"type": "array", "items": item}})


def replies(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def get(schema: dict[str, Any], *parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"parameters": list(parameters), "responses": replies(schema), **extra}


def post(body: dict[str, Any], schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "requestBody": {"content": {"application/json": {"schema": body}}},
        "responses": replies(schema),
        **extra,
    }


def query(name: str, schema: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema or STRING, **extra}


def in_path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STRING}


def document(
    paths: dict[str, Any], schemas: dict[str, Any] | None = None, title: str = "Shop"
) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas or {}},
    }


def owner(doc: dict[str, Any], name: str = "shop") -> OwnerDocument:
    return OwnerDocument(name, f"http://{name}.test", doc, f"{name}.json")


def loaded(starter: Starter, tmp_path: Path) -> Graph:
    """The pair through the real loaders: every check `ownergraph check` makes."""
    schema, ownership = write_starter(starter, tmp_path, force=True)
    return load_files(schema, ownership, {})


def made(tmp_path: Path, *docs: dict[str, Any]) -> tuple[dict[str, Any], Starter, Graph]:
    """The map (as YAML reads it), the starter and the loaded graph of these documents."""
    starter = make_starter([owner(doc, slug(doc["info"]["title"])) for doc in docs])
    graph = loaded(starter, tmp_path)
    return yaml.safe_load(starter.ownership), starter, graph


def field_types(graph: Graph, type_name: str) -> dict[str, str]:
    """The SDL types of an object type's fields, as written: ``{"id": "ID!"}``."""
    gql_type = graph.schema.type_map[type_name]
    assert isinstance(gql_type, GraphQLObjectType)
    return {name: str(f.type) for name, f in gql_type.fields.items()}


def line_of(text: str, fragment: str) -> str:
    [line] = [line for line in text.splitlines() if fragment in line]
    return line


ORDER = obj(id=STRING, total={"type": "number"}, placed={"type": "boolean"})
ORDERS_BY_ID = {
    "/orders/{id}": {"get": get(ref("Order"), in_path("id"), summary="One order.")},
}


def test_a_comma_separated_parameter_and_a_single_read_are_one_entity(tmp_path: Path) -> None:
    ids = query("ids", description="Comma-separated order ids.")
    paths = {**ORDERS_BY_ID, "/orders": {"get": get(listed("orders", ref("Order")), ids)}}
    mapping, starter, graph = made(tmp_path, document(paths, {"Order": ORDER}))
    assert mapping["systems"]["shop"]["entities"] == {
        "order": {
            "key": "id",
            "records": "orders",
            "batch": {"get": "/orders", "param": "ids"},
            "single": {"get": "/orders/{key}"},
        }
    }
    assert mapping["queries"] == {
        "order": {"entity": "Order", "by": "id"},
        "orders": {"entity": "Order", "by": "ids", "max": 100},
    }
    assert "  orders(ids: [ID!]!): [Order]!" in starter.sdl
    assert field_types(graph, "Order") == {
        "id": "ID!",
        "total": "Float",
        "placed": "Boolean",
    }
    assert "# TODO" not in line_of(starter.ownership, " batch: {")


def test_an_array_parameter_takes_keys_and_one_sent_repeated_is_a_todo(tmp_path: Path) -> None:
    array = {"type": "array", "items": STRING, "maxItems": 50}
    flat = query("ids", array, style="form", explode=False)
    mapping, starter, _ = made(
        tmp_path,
        document({"/orders": {"get": get(listed("orders", ref("Order")), flat)}}, {"Order": ORDER}),
    )
    assert mapping["systems"]["shop"]["entities"]["order"]["batch"] == {
        "get": "/orders",
        "param": "ids",
    }
    assert mapping["systems"]["shop"]["max_batch"] == 50
    assert "# TODO" not in line_of(starter.ownership, " batch: {")

    repeated = query("ids", array)  # form style explodes by default: ids=a&ids=b
    _, starter, _ = made(
        tmp_path,
        document(
            {"/orders": {"get": get(listed("orders", ref("Order")), repeated)}}, {"Order": ORDER}
        ),
    )
    assert "TODO: ids is an array the owner may want repeated" in line_of(
        starter.ownership, " batch: {"
    )


def test_a_parameter_named_for_keys_is_a_batch_with_a_todo(tmp_path: Path) -> None:
    product = obj(code=STRING, name=STRING)
    codes = query("codes")  # neither an array nor described: only its name says so
    mapping, starter, _ = made(
        tmp_path,
        document(
            {"/products": {"get": get({"type": "array", "items": ref("Product")}, codes)}},
            {"Product": product},
        ),
    )
    entity = mapping["systems"]["shop"]["entities"]["product"]
    assert entity == {"key": "code", "batch": {"get": "/products", "param": "codes"}}
    assert "TODO: guessed from the name 'codes'" in line_of(starter.ownership, " batch: {")
    assert mapping["types"]["Product"]["key"] == "code"


def test_a_post_with_one_list_of_strings_in_its_body_is_a_batch(tmp_path: Path) -> None:
    body = obj(skus={"type": "array", "items": STRING, "maxItems": 25}, verbose={"type": "boolean"})
    product = obj(sku=STRING, title=STRING)
    paths = {"/products/lookup": {"post": post(body, listed("items", ref("Product")))}}
    mapping, _, _ = made(tmp_path, document(paths, {"Product": product}))
    system = mapping["systems"]["shop"]
    assert system["entities"]["product"] == {
        "key": "sku",
        "records": "items",
        "batch": {"post": "/products/lookup", "body": "skus"},
    }
    assert system["max_batch"] == 25
    assert mapping["queries"]["products"] == {"entity": "Product", "by": "ids", "max": 100}


BUYER_ID = {"type": "string", "pattern": "^B[0-9]{4}$", "examples": ["B0042"]}
BUYER = obj(id=BUYER_ID, name=STRING)
LINE = obj(number=STRING, buyer_id=BUYER_ID, state={"enum": ["open", "paid"]})


def test_records_keyed_by_another_field_are_listed_on_that_entity(tmp_path: Path) -> None:
    buyers = {"/buyers/{id}": {"get": get(ref("Buyer"), in_path("id"))}}
    lines = {
        "/lines": {
            "get": get(
                listed("lines", ref("Line")),
                query("buyer_ids", description="Comma-separated buyer ids."),
                query("state", {"enum": ["open", "paid"]}, description="Only lines so."),
                query("limit", {"type": "integer", "maximum": 50, "default": 10}),
            )
        }
    }
    mapping, starter, graph = made(
        tmp_path,
        document(buyers, {"Buyer": BUYER}, title="People"),
        document(lines, {"Line": LINE}, title="Billing"),
    )
    assert mapping["systems"]["billing"]["entities"]["lines"] == {
        "key": "buyer_id",
        "records": "lines",
        "many": True,
        "batch": {"get": "/lines", "param": "buyer_ids"},
    }
    assert "TODO: one-to-many" in line_of(starter.ownership, "many: true")
    # Listed on the entity whose key has the same pattern, with the read's parameters.
    assert mapping["types"]["Buyer"]["fields"]["lines"] == {
        "owner": "billing",
        "entity": "lines",
        "args": {"state": "state", "first": {"param": "limit", "size": True, "max": 50}},
    }
    assert "the same pattern as people's buyer key" in line_of(starter.ownership, "lines: {")
    assert mapping["types"]["Line"]["owner"] == "billing"
    assert field_types(graph, "Buyer")["lines"] == "[Line!]"
    buyer = graph.schema.type_map["Buyer"]
    assert isinstance(buyer, GraphQLObjectType)
    args = buyer.fields["lines"].args
    assert {name: str(arg.type) for name, arg in args.items()} == {
        "state": "LineState",
        "first": "Int",
    }
    assert argument_default(args["first"]) == 10
    assert 'buyer(id: "B0042")' in starter.ownership  # the sample, with the owner's example


def test_a_field_with_another_entitys_key_pattern_links_to_it(tmp_path: Path) -> None:
    account = obj(id=STRING, buyer=BUYER_ID)
    paths = {
        "/buyers/{id}": {"get": get(ref("Buyer"), in_path("id"))},
        "/accounts/{id}": {"get": get(ref("Account"), in_path("id"))},
    }
    mapping, _, _ = made(tmp_path, document(paths, {"Buyer": BUYER, "Account": account}))
    # A field already has the link's name: it stays the owner's value, and no link is made.
    assert mapping["types"]["Account"]["fields"]["buyer"] == {"owner": "shop", "entity": "account"}

    account2 = obj(id=STRING, buyer_ref=BUYER_ID)
    mapping, starter, graph = made(tmp_path, document(paths, {"Buyer": BUYER, "Account": account2}))
    fields = mapping["types"]["Account"]["fields"]
    assert fields["buyer"] == {"owner": "shop", "entity": "account", "from": "buyer_ref"}
    assert "TODO: a link" in line_of(starter.ownership, "buyer:    {")
    assert field_types(graph, "Account")["buyer"] == "Buyer"


def test_string_enums_become_enums_with_the_owners_words_mapped(tmp_path: Path) -> None:
    ticket = obj(
        id=STRING,
        state={"enum": ["open", "in-progress", "Done", None]},
        level={"enum": ["low", "high"]},
    )
    paths = {"/tickets/{id}": {"get": get(ref("Ticket"), in_path("id"))}}
    mapping, starter, graph = made(tmp_path, document(paths, {"Ticket": ticket}))
    fields = mapping["types"]["Ticket"]["fields"]
    # Only an enum whose words differ from the values' names in more than case is mapped.
    assert fields["state"]["values"] == {
        "open": "OPEN",
        "in-progress": "IN_PROGRESS",
        "Done": "DONE",
    }
    assert "values" not in fields["level"]
    state = graph.schema.type_map["TicketState"]
    assert isinstance(state, GraphQLEnumType)
    assert list(state.values) == ["OPEN", "IN_PROGRESS", "DONE"]
    assert "enum TicketLevel {\n  LOW\n  HIGH\n}" in starter.sdl


def test_nested_objects_are_value_types_read_from_their_place(tmp_path: Path) -> None:
    address = obj(city=STRING, lines={"type": "array", "items": STRING})
    shop = obj(
        id=STRING,
        address={"anyOf": [ref("Address"), {"type": "null"}]},
        contacts={"type": "array", "items": obj(kind=STRING, value=STRING)},
        extra={"type": "object", "additionalProperties": True},
    )
    paths = {"/shops/{id}": {"get": get(ref("Shop"), in_path("id"))}}
    mapping, starter, graph = made(tmp_path, document(paths, {"Shop": shop, "Address": address}))
    types = mapping["types"]
    # Without from:, a field of an object type would read the whole record.
    assert types["Shop"]["fields"]["address"] == {
        "owner": "shop",
        "entity": "shop",
        "from": "address",
    }
    assert types["Address"] == {
        "owner": "shop",
        "class": "none",
        "read": ["reader"],
        "fields": {"city": {}, "lines": {}},
    }
    assert types["ShopContact"]["owner"] == "shop"
    assert "extra" not in types["Shop"]["fields"]
    assert "extra: an object of no declared properties" in starter.ownership
    assert field_types(graph, "Shop")["contacts"] == "[ShopContact!]"
    assert field_types(graph, "Address")["lines"] == "[String!]"


def test_dates_and_moments_are_scalars_of_the_map(tmp_path: Path) -> None:
    event = obj(
        id=STRING,
        day={"type": "string", "format": "date"},
        at={"type": ["string", "null"], "format": "date-time"},
        seconds={"type": "integer", "description": "Epoch seconds."},
    )
    paths = {"/events/{id}": {"get": get(ref("Event"), in_path("id"))}}
    mapping, starter, graph = made(tmp_path, document(paths, {"Event": event}))
    assert mapping["scalars"] == {"Date": "date", "DateTime": "datetime"}
    fields = field_types(graph, "Event")
    assert (fields["day"], fields["at"]) == ("Date", "DateTime")
    assert "TODO: seconds since the epoch?" in line_of(starter.ownership, "seconds:")


def test_nullables_and_references_are_read_however_written(tmp_path: Path) -> None:
    item = obj(
        id=STRING,
        a={"anyOf": [{"type": "integer"}, {"type": "null"}]},
        b={"oneOf": [{"$ref": "#/components/schemas/Money"}, {"type": "null"}]},
        c={"type": "number", "nullable": True},
        d={"allOf": [ref("Money")], "description": "Wrapped."},
    )
    doc = document(
        {
            "/items/{id}": {
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "get": {"responses": {"200": {"$ref": "#/components/responses/Item"}}},
            }
        },
        {"Item": item, "Money": {"type": "string"}},
    )
    doc["components"]["parameters"] = {"Id": in_path("id")}
    doc["components"]["responses"] = {
        "Item": {"description": "ok", "content": {"application/json": {"schema": ref("Item")}}}
    }
    _, starter, graph = made(tmp_path, doc)
    assert field_types(graph, "Item") == {
        "id": "ID!",
        "a": "Int",
        "b": "String",
        "c": "Float",
        "d": "String",
    }
    assert '"""Wrapped."""' in starter.sdl


def test_searches_are_commented_out_lookups(tmp_path: Path) -> None:
    paths = {
        "/buyers/{id}": {"get": get(ref("Buyer"), in_path("id"))},
        "/buyers/search": {"get": get(listed("buyers", ref("Buyer")), query("phone"), query("q"))},
    }
    mapping, starter, graph = made(tmp_path, document(paths, {"Buyer": BUYER}))
    assert "lookups" not in mapping
    assert not graph.ownership.lookups
    text = starter.ownership
    assert (
        "#       shop: {search: {get: /buyers/search, param: phone}, records: buyers, id: id}"
        in text
    )
    assert "#     normalise: e164" in text
    assert "#   buyersByPhone(phone: String!): [BuyerMatch!]!" in text
    # Uncommented, the block is YAML a person can paste back.
    block = text[text.index("# lookups:") :].split("#\n")[0]
    assert yaml.safe_load("\n".join(line[2:] for line in block.splitlines()))["lookups"]["phone"]


def test_writes_are_listed_as_candidates_and_no_mutation_is_made(tmp_path: Path) -> None:
    idempotency = {"name": "Idempotency-Key", "in": "header", "schema": STRING}
    paths = {
        "/buyers/{id}": {
            "get": get(ref("Buyer"), in_path("id")),
            "patch": {
                "parameters": [in_path("id"), idempotency],
                "summary": "Change a buyer.",
                "requestBody": {"content": {"application/json": {"schema": ref("BuyerPatch")}}},
                "responses": replies(ref("Buyer")),
            },
        },
        "/buyers": {"post": post(ref("BuyerPatch"), ref("Buyer"), summary="Add a buyer.")},
    }
    mapping, starter, graph = made(
        tmp_path, document(paths, {"Buyer": BUYER, "BuyerPatch": obj(name=STRING)})
    )
    assert "mutations" not in mapping and not graph.ownership.mutations
    text = starter.ownership
    assert (
        "#   PATCH /buyers/{id}: Change a buyer; body BuyerPatch; takes an Idempotency-Key" in text
    )
    assert "#   POST /buyers: Add a buyer; body BuyerPatch" in text
    assert "type Mutation" not in starter.sdl


def test_every_type_is_read_by_the_reader_role_only(tmp_path: Path) -> None:
    paths = {"/shops/{id}": {"get": get(ref("Shop"), in_path("id"))}}
    shop = obj(id=STRING, address=obj(city=STRING))
    mapping, _, graph = made(tmp_path, document(paths, {"Shop": shop}))
    assert mapping["roles"] == ["reader"]
    assert {name: t["read"] for name, t in mapping["types"].items()} == {
        "Shop": ["reader"],
        "ShopAddress": ["reader"],
    }
    every = [f for t in graph.ownership.types.values() for f in t.fields.values()]
    assert every and all(not f.readable_by(frozenset({"anonymous"})) for f in every)


async def test_the_pair_serves_batched_reads_through_the_owner(tmp_path: Path) -> None:
    ids = query("ids", description="Comma-separated.")
    paths = {**ORDERS_BY_ID, "/orders": {"get": get(listed("orders", ref("Order")), ids)}}
    starter = make_starter([owner(document(paths, {"Order": ORDER}))])
    schema, ownership = write_starter(starter, tmp_path)
    keys = tmp_path / "keys.yaml"
    keys.write_text(
        yaml.safe_dump(
            {"keys": [{"client": "tests", "roles": ["reader"], "sha256": hash_key(READER_KEY)}]}
        )
    )
    asked: list[str] = []

    def shop(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        wanted = request.url.params["ids"].split(",")
        records = [{"id": i, "total": 12.5, "placed": True} for i in wanted if i != "nope"]
        return httpx.Response(200, json={"orders": records})

    settings = Settings(api_keys_file=keys, audit_log="off")
    app = create_app(
        settings, schema=schema, ownership=ownership, transports={"shop": httpx.MockTransport(shop)}
    )
    document_ = '{ orders(ids: ["o1", "o2"]) { id total } }'
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://og") as client,
    ):
        anonymous = (await client.post("/graphql", json={"query": document_})).json()
        reply = await client.post(
            "/graphql",
            json={"query": document_},
            headers={"Authorization": f"Bearer {READER_KEY}"},
        )
    assert anonymous["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert reply.json()["data"] == {
        "orders": [{"id": "o1", "total": 12.5}, {"id": "o2", "total": 12.5}]
    }
    assert asked == ["GET /orders?ids=o1,o2"]  # one call for both keys


# -- documents, names, files ---------------------------------------------------------------


def test_a_system_is_named_from_its_title_and_reached_at_its_server(tmp_path: Path) -> None:
    doc = document(ORDERS_BY_ID, {"Order": ORDER}, title="Acme Billing API (v2)")
    doc["servers"] = [
        {"url": "https://{region}.acme.test/v2", "variables": {"region": {"default": "eu"}}}
    ]
    path = tmp_path / "billing.json"
    path.write_text(json.dumps(doc))
    read = read_document(str(path))
    assert (read.name, read.url, read.url_guessed) == (
        "acme_billing_api_v2",
        "https://eu.acme.test/v2",
        False,
    )
    assert read_document(str(path), "billing").name == "billing"

    del doc["servers"]
    path.write_text(yaml.safe_dump(doc))  # YAML is read too
    guessed = read_document(str(path))
    assert guessed.url_guessed
    starter = make_starter([guessed])
    assert "TODO: where acme_billing_api_v2 is" in line_of(starter.ownership, "url:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"swagger": "2.0", "paths": {}}', "only OpenAPI 3.x is read"),
        ('{"openapi": "3.0.3"}', "the document has no paths"),
        ("[1, 2]", "not an OpenAPI document"),
        ("{not json: [", "neither JSON nor YAML"),
    ],
)
def test_a_document_that_cannot_be_read_says_why(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "api.json"
    path.write_text(text)
    with pytest.raises(StarterError, match=message):
        read_document(str(path))


def test_bad_names_and_empty_documents_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StarterError, match="a system name is lower-case letters"):
        read_document(str(tmp_path / "x.json"), "Billing")
    doc = document(ORDERS_BY_ID, {"Order": ORDER})
    with pytest.raises(StarterError, match="name them apart with --name"):
        make_starter([owner(doc), owner(doc)])
    health = {"/healthz": {"get": get(obj(status=STRING))}}
    with pytest.raises(StarterError, match="no entity to read by key was found"):
        make_starter([owner(document(health))])


def test_existing_files_are_kept_without_force(tmp_path: Path) -> None:
    starter = make_starter([owner(document(ORDERS_BY_ID, {"Order": ORDER}))])
    write_starter(starter, tmp_path)
    (tmp_path / "ownership.yaml").write_text("# edited\n")
    with pytest.raises(StarterError, match="already exist: give --force"):
        write_starter(starter, tmp_path)
    assert (tmp_path / "ownership.yaml").read_text() == "# edited\n"
    write_starter(starter, tmp_path, force=True)
    assert (tmp_path / "ownership.yaml").read_text() == starter.ownership


def test_names_are_made_from_the_owners_words() -> None:
    assert [camel(w) for w in ("display_name", "customerIds", "2nd-line")] == [
        "displayName",
        "customerIds",
        "_2ndLine",
    ]
    assert [pascal(w) for w in ("work_orders", "HTTPServer")] == ["WorkOrders", "HttpServer"]
    assert [constant(w) for w in ("in-progress", "inProgress", "3d")] == [
        "IN_PROGRESS",
        "IN_PROGRESS",
        "_3D",
    ]
    assert [singular(w) for w in ("invoices", "entries", "addresses", "status")] == [
        "invoice",
        "entry",
        "address",
        "status",
    ]
    assert [plural(w) for w in ("order", "entry", "address")] == ["orders", "entries", "addresses"]
    assert [slug(t) for t in ("Demo CRM", "3 Ports", "!!!")] == ["demo_crm", "s_3_ports", "system"]
