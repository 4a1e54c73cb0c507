"""The map against the schema: every field exactly one owner, every entry a real field."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from ownergraph.ownership import OwnershipError
from ownergraph.schema import load_files

from ..conftest import SHIPPED_SDL, shipped_graph

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_TEXT = (ROOT / "ownership.yaml").read_text()


def problems_after(old: str, new: str, *more: tuple[str, str]) -> list[str]:
    """Every problem of the shipped graph once the map's text is changed so."""
    text = SHIPPED_TEXT
    for before, after in [(old, new), *more]:
        assert before in text, before
        text = text.replace(before, after, 1)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "ownership.yaml").write_text(text)
        with pytest.raises(OwnershipError) as caught:
            load_files(SHIPPED_SDL, Path(folder) / "ownership.yaml", {})
    # Files named as the reader knows them: the map beside the SDL.
    return [
        str(p).replace(f"{folder}/", "").replace(f"{SHIPPED_SDL.parent.parent}/", "")
        for p in caught.value.problems
    ]


def line_of(fragment: str) -> int:
    return SHIPPED_TEXT[: SHIPPED_TEXT.index(fragment)].count("\n") + 1


def sdl_line(fragment: str) -> int:
    text = SHIPPED_SDL.read_text()
    return text[: text.index(fragment)].count("\n") + 1


def test_the_shipped_map_binds_to_the_schema() -> None:
    graph = shipped_graph()
    assert graph.plan.field("Customer", "credit").owner == "erp"


def test_a_schema_field_without_owner_is_rejected() -> None:
    [problem] = problems_after(
        "      segment:     {owner: crm, entity: customer, class: none, "
        "read: [agent, backoffice, partner], stale_if_error: 1h}\n",
        "",
    )
    # The SDL has the field and the map does not: named at the field, in the SDL.
    assert problem == (
        f"schema/customers.graphql:{sdl_line('  segment: String')}: Customer.segment has no "
        "owner in the map (add it under types.Customer.fields with owner: and entity:)"
    )


def test_an_entry_for_a_field_the_schema_lacks_is_rejected() -> None:
    problems = problems_after("      segment:     {owner", "      segmnt:     {owner")
    assert (
        f"ownership.yaml:{line_of('      segment:')}: Customer.segmnt is not a field of the SDL"
        " (did you mean 'segment'?)"
    ) in problems
    assert any("Customer.segment has no owner" in p for p in problems)


def test_two_owners_for_one_field_are_rejected() -> None:
    problems = problems_after(
        "      segment:     {owner: crm,",
        "      segment:     {owner: erp, entity: account}\n      segment:     {owner: crm,",
    )
    assert any("'segment' is given twice" in p for p in problems)


def test_a_type_without_entry_is_rejected() -> None:
    start = SHIPPED_TEXT.index("  Address:\n")
    end = SHIPPED_TEXT.index("  CreditStatus:\n")
    problems = problems_after(SHIPPED_TEXT[start:end], "")
    assert (
        f"schema/customers.graphql:{sdl_line('type Address')}: type Address has no entry in "
        "the map's types: (add 'Address:' to ownership.yaml, with an owner for each field)"
    ) in (problems)


def test_a_value_type_read_from_another_owner_is_rejected() -> None:
    problems = problems_after("  CreditStatus:\n    owner: erp", "  CreditStatus:\n    owner: crm")
    assert any(
        "Customer.credit is owned by 'erp' but its type CreditStatus is read from 'crm'" in p
        for p in problems
    )


def test_a_format_that_does_not_fit_the_type_is_rejected() -> None:
    [problem] = problems_after(
        "currency:    {}\n      blocked", "currency:    {format: cents}\n      blocked"
    )
    assert (
        "CreditStatus.currency: format 'cents' reads a decimal, and String is a string" in problem
    )


def test_an_enum_value_map_must_name_enum_values() -> None:
    [problem] = problems_after("{voice: PHONE,", "{voice: PHONES,")
    assert "'PHONES', which is not a value of Channel" in problem
    assert "did you mean 'PHONE'?" in problem


def test_every_argument_must_reach_the_owner() -> None:
    [problem] = problems_after(
        "          status: status\n          first: {param: limit, max: 100, size: true}\n"
        "      tickets",
        "          status: status\n      tickets",
    )
    # In the SDL, where the argument is declared.
    assert problem.startswith("schema/customers.graphql:")
    assert "Customer.invoices: argument 'first' is not passed to the owner" in problem


def test_a_key_field_must_exist_and_keys_must_not_loop() -> None:
    [problem] = problems_after(
        "entity: account\n        key: erpCode\n",
        "entity: account\n        key: erpCod\n",
    )
    assert "Customer.credit is keyed by Customer.erpCode" not in problem
    assert "keyed by Customer.erpCod, which has no owner" in problem
    problems = problems_after(
        "erpCode:     {owner: crm, entity: customer, from: erp_code,",
        "erpCode:     {owner: crm, entity: customer, key: segment, from: erp_code,",
        (
            "segment:     {owner: crm, entity: customer,",
            "segment:     {owner: crm, entity: customer, key: erpCode,",
        ),
    )
    assert any(
        "keys go round in a loop: credit -> erpCode -> segment -> erpCode" in p for p in problems
    )


def test_a_one_to_many_entity_needs_a_list_field() -> None:
    [problem] = problems_after(
        "credit:\n        owner: erp\n        entity: account",
        "credit:\n        owner: erp\n        entity: invoices",
    )
    assert (
        "Customer.credit reads the one-to-many entity 'invoices' but is not a list of objects"
        in problem
    )


def test_a_mutation_writing_another_owners_field_is_rejected() -> None:
    [problem] = problems_after(
        "subject:     {to: subject, writes: Ticket.subject, max_length: 200}",
        "subject:     {to: subject, writes: Customer.displayName, max_length: 200}",
    )
    assert (
        "mutation openTicket: input.subject writes Customer.displayName, owned by 'crm', "
        "but the mutation writes to 'helpdesk'"
    ) in problem


def test_every_mutation_and_input_field_must_be_declared() -> None:
    problems = problems_after(
        "      durationSeconds: {to: duration_s, writes: Interaction.durationSeconds, min: 0, "
        "only_when: {channel: [PHONE, CHAT]}}\n",
        "",
    )
    assert any("input.durationSeconds is not sent to the owner" in p for p in problems)
    problems = problems_after("  updateContact:\n", "  updateContacts:\n")
    assert any("mutation updateContact has no entry in the map's mutations:" in p for p in problems)
    assert any("mutation updateContacts is not a field of Mutation" in p for p in problems)


def test_input_checks_must_fit_their_inputs() -> None:
    duration = "only_when: {channel: [PHONE, CHAT]}}"
    problems = problems_after(
        duration,
        "only_when: {chanel: [PHONE]}}",
        ("summary, max_length: 2000}", "summary, max_length: 2000, max_items: 3}"),
        ("{to: customer_id, id_of: Customer}", "{to: customer_id, id_of: Custmer}"),
        ("Ticket.priority}", "Ticket.priority, only_when: {channel: [FAX]}}"),
    )
    text = "\n".join(problems)
    assert "input.durationSeconds: only_when names input.chanel, which does not exist" in text
    assert "did you mean 'channel'?" in text
    assert "input.summary: max_items does not fit String" in text
    assert "input.customerId: id_of names 'Custmer', which is no entity type with a key" in text
    assert "input.priority: only_when.channel lists 'FAX', which is not a value of Channel" in text


def test_an_id_pattern_must_be_a_regular_expression() -> None:
    problems = problems_after('pattern: "C[0-9]{5}"', 'pattern: "C[0-9"')
    [problem] = problems
    assert "types.Customer.fields.id.pattern: 'C[0-9' is not a regular expression" in problem
    assert problem.startswith(f"ownership.yaml:{line_of('pattern: ')}:")


def problems_of_files(
    sdl: tuple[str, str] | None = None, ownership: tuple[str, str] | None = None
) -> list[str]:
    """Every problem of the shipped graph with its SDL and its map changed so."""
    sdl_text = SHIPPED_SDL.read_text()
    map_text = SHIPPED_TEXT
    if sdl is not None:
        assert sdl[0] in sdl_text, sdl[0]
        sdl_text = sdl_text.replace(*sdl, 1)
    if ownership is not None:
        assert ownership[0] in map_text, ownership[0]
        map_text = map_text.replace(*ownership, 1)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "customers.graphql").write_text(sdl_text)
        (Path(folder) / "ownership.yaml").write_text(map_text)
        with pytest.raises(OwnershipError) as caught:
            load_files(Path(folder) / "customers.graphql", Path(folder) / "ownership.yaml", {})
    return [str(p).replace(f"{folder}/", "") for p in caught.value.problems]


def test_an_sdl_syntax_error_and_a_map_problem_are_reported_together() -> None:
    problems = problems_of_files(
        sdl=("type Address {", "type Address {{"),
        ownership=(
            "owner: helpdesk\n        entity: tickets",
            "owner: helpdsk\n        entity: tickets",
        ),
    )
    assert len(problems) == 2
    syntax = [p for p in problems if p.startswith("customers.graphql:")]
    assert syntax and "not valid GraphQL SDL" in syntax[0]
    assert any("unknown system 'helpdsk'" in p for p in problems)


def test_a_root_whose_type_is_missing_is_named_in_the_sdl() -> None:
    start = SHIPPED_SDL.read_text().index('"""Who is calling')
    end = SHIPPED_SDL.read_text().index("type CustomerMatch")
    problems = problems_of_files(sdl=(SHIPPED_SDL.read_text()[start:end], ""))
    assert any(
        p.startswith("customers.graphql:") and "Unknown type 'CallerLookup'" in p for p in problems
    ), problems


def test_a_lookup_whose_type_is_missing_is_named_in_the_map() -> None:
    problems = problems_of_files(ownership=("    finds: Customer", "    finds: Caller"))
    assert any(
        p.startswith(f"ownership.yaml:{line_of('    finds: Customer')}:")
        and "finds 'Caller', which is no entity type of the map" in p
        for p in problems
    ), problems


def test_a_key_of_the_wrong_type_is_refused() -> None:
    problems = problems_of_files(
        sdl=('e.g. "C00042"."""\n  id: ID!', 'e.g. "C00042"."""\n  id: Float')
    )
    assert any(
        "type Customer: its key id must be an ID, String or Int, not Float" in p for p in problems
    ), problems


def test_a_root_of_the_wrong_shape_is_refused() -> None:
    problems = problems_of_files(
        sdl=("customers(ids: [ID!]!): [Customer]!", "customers(ids: [ID!]!): Customer")
    )
    assert any(
        "queries.customers: reads Customer by 'ids' ([ID!]!), so Query.customers must return "
        "[Customer], not Customer" in p
        for p in problems
    ), problems


def test_a_scalar_without_a_kind_is_named_in_the_sdl() -> None:
    problems = problems_of_files(ownership=("  Date: date\n", ""))
    assert any(
        p.startswith("customers.graphql:") and "scalar Date has no kind in the map's scalars:" in p
        for p in problems
    ), problems
