from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ownergraph.ownership import OwnershipError, load_ownership, parse_ownership

SHIPPED = Path(__file__).resolve().parents[2] / "ownership.yaml"

MINIMAL = """\
version: 1
roles: [agent]
systems:
  crm:
    url: http://crm.test
    timeout: 800ms
    entities:
      customer:
        key: id
        records: customers
        batch: {get: /customers, param: ids}
types:
  Customer:
    fields:
      id: {owner: crm, entity: customer, read: [agent]}
"""


def problems_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(OwnershipError) as caught:
        parse_ownership(textwrap.dedent(text), Path("map.yaml"), env or {})
    return [str(p) for p in caught.value.problems]


def test_the_shipped_map_loads() -> None:
    ownership = load_ownership(SHIPPED)
    assert set(ownership.systems) == {"crm", "erp", "helpdesk", "contactcenter"}
    credit = ownership.field("Customer", "credit")
    assert (credit.owner, credit.entity, credit.key) == ("erp", "account", "erpCode")
    assert ownership.systems["erp"].entities["invoices"].many is True


def test_a_minimal_map_loads_with_defaults() -> None:
    ownership = parse_ownership(MINIMAL, Path("map.yaml"), {})
    crm = ownership.systems["crm"]
    assert crm.timeout == pytest.approx(0.8)
    assert (crm.max_batch, crm.concurrency) == (100, 10)
    identity = ownership.field("Customer", "id")
    assert identity.data_class == "none"
    assert identity.read == frozenset({"agent"})
    assert identity.max_age == 0


def test_the_url_is_overridden_from_the_environment() -> None:
    ownership = parse_ownership(
        MINIMAL, Path("map.yaml"), {"OWNERGRAPH_CRM_URL": "https://crm.internal:8443/"}
    )
    assert ownership.systems["crm"].base_url == "https://crm.internal:8443"


def test_a_bad_url_override_names_the_variable() -> None:
    [problem] = problems_of(MINIMAL, {"OWNERGRAPH_CRM_URL": "crm.internal"})
    assert "map.yaml:5:" in problem
    assert "OWNERGRAPH_CRM_URL" in problem and "'crm.internal'" in problem


def test_an_unknown_system_is_named_with_a_suggestion() -> None:
    [problem] = problems_of(MINIMAL.replace("{owner: crm,", "{owner: crn,"))
    assert problem.startswith("map.yaml:15: Customer.id: unknown system 'crn'")
    assert "did you mean 'crm'?" in problem


def test_an_unknown_key_is_named_with_a_suggestion() -> None:
    [problem] = problems_of(MINIMAL.replace("timeout: 800ms", "timout: 800ms"))
    assert problem == "map.yaml:6: systems.crm: unknown key 'timout' (did you mean 'timeout'?)"


def test_an_unknown_entity_is_named() -> None:
    [problem] = problems_of(MINIMAL.replace("entity: customer,", "entity: customers,"))
    assert "system 'crm' has no entity 'customers'" in problem
    assert "did you mean 'customer'?" in problem


def test_a_field_without_owner_is_rejected() -> None:
    [problem] = problems_of(
        MINIMAL.replace("{owner: crm, entity: customer, read: [agent]}", "{entity: customer}")
    )
    assert problem == (
        "map.yaml:15: Customer.id: 'owner' is missing (name the system that owns it)"
    )


def test_a_key_given_twice_is_rejected() -> None:
    text = MINIMAL + "      id: {owner: crm, entity: customer}\n"
    problems = problems_of(text)
    assert any("'id' is given twice (first on line 15)" in p for p in problems)


def test_an_unknown_role_is_rejected() -> None:
    [problem] = problems_of(MINIMAL.replace("read: [agent]", "read: [agnet]"))
    assert "unknown role 'agnet'" in problem and "did you mean 'agent'?" in problem


def test_bad_numbers_and_durations_are_named() -> None:
    text = MINIMAL.replace("timeout: 800ms", "timeout: soon\n    max_batch: 0")
    problems = problems_of(text)
    assert any("systems.crm.timeout: not a duration: 'soon'" in p for p in problems)
    assert any(
        "systems.crm.max_batch must be a whole number of at least 1, not 0" in p for p in problems
    )


def with_breaker(settings: str) -> str:
    return MINIMAL.replace("timeout: 800ms", f"timeout: 800ms\n    breaker: {settings}")


def test_the_breaker_opens_first_briefly_unless_the_map_says_otherwise() -> None:
    crm = parse_ownership(MINIMAL, Path("map.yaml"), {}).systems["crm"]
    assert (crm.breaker.open_first, crm.breaker.open_for) == (0.25, 5.0)
    text = with_breaker("{open_first: 100ms, open_for: 4s}")
    crm = parse_ownership(text, Path("map.yaml"), {}).systems["crm"]
    assert (crm.breaker.open_first, crm.breaker.open_for) == (0.1, 4.0)


def test_the_shipped_map_opens_its_breakers_briefly_first() -> None:
    breaker = load_ownership(SHIPPED).systems["erp"].breaker
    assert (breaker.open_first, breaker.open_for) == (0.25, 5.0)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (
            "{open_first: 10s, open_for: 5s}",
            "map.yaml:7: systems.crm.breaker: open_first '10s' is longer than open_for (5s), "
            "the longest the breaker stays open (make it at most 5s, or raise open_for)",
        ),
        (
            "{open_first: 2s, open_for: 500ms}",
            "map.yaml:7: systems.crm.breaker: open_first '2s' is longer than open_for (0.5s), "
            "the longest the breaker stays open (make it at most 0.5s, or raise open_for)",
        ),
        (
            "{open_first: 0}",
            "map.yaml:7: systems.crm.breaker: open_first must be more than 0 "
            "(write e.g. 250ms; it doubles with each probe that hung)",
        ),
        (
            "{open_first: soon}",
            "map.yaml:7: systems.crm.breaker.open_first: not a duration: 'soon' "
            "(write e.g. 800ms, 2s, 5m or 30)",
        ),
    ],
)
def test_a_bad_first_open_time_is_named_with_a_fix(settings: str, problem: str) -> None:
    assert problems_of(with_breaker(settings)) == [problem]


def test_an_endpoint_must_say_its_method_and_a_single_path_its_key() -> None:
    text = MINIMAL.replace(
        "batch: {get: /customers, param: ids}",
        "batch: {param: ids}\n        single: {get: /customers}",
    )
    problems = problems_of(text)
    assert any("give exactly one of get: or post:" in p for p in problems)
    assert any("has no {key} placeholder" in p for p in problems)


def test_missing_credentials_fail_at_load() -> None:
    text = MINIMAL.replace("    timeout: 800ms\n", "    auth: {env: CRM_TOKEN}\n")
    [problem] = problems_of(text)
    assert "the credential variable CRM_TOKEN is not set" in problem
    ownership = parse_ownership(textwrap.dedent(text), Path("m.yaml"), {"CRM_TOKEN": "s3cret"})
    assert ownership.systems["crm"].headers == {"Authorization": "Bearer s3cret"}


def test_invalid_yaml_is_reported_with_its_line() -> None:
    [problem] = problems_of("version: 1\nsystems: [\n")
    assert problem.startswith("map.yaml:3: not valid YAML")


def test_a_missing_file_is_reported() -> None:
    with pytest.raises(OwnershipError, match="cannot read the file"):
        load_ownership("/nonexistent/ownership.yaml")


def test_every_problem_is_reported_at_once() -> None:
    text = MINIMAL.replace("timeout: 800ms", "timeout: -1").replace("owner: crm", "owner: nope")
    assert len(problems_of(text)) == 2
