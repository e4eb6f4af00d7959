"""State schemas: keys and reducers read from a ``TypedDict``, however it is spelled."""

from __future__ import annotations

import dataclasses
import operator
import re
import sys
import types
import typing
from typing import Annotated, Any

import pytest
import typing_extensions
from typing_extensions import NotRequired, ReadOnly, Required, TypedDict

from orkes import END, START, OrkesGraph
from orkes.errors import GraphDefinitionError
from orkes.graph.reducers import add_messages, append, merge_dict
from orkes.graph.state import StateSchema


def keep_last(old: object, new: object) -> object:
    return new


class Plain(TypedDict):
    text: str
    count: int


class WithReducers(TypedDict):
    items: Annotated[list[int], operator.add]
    tags: Annotated[list[str], append]
    plain: str
    documented: Annotated[int, "just a note"]
    noted_reducer: Annotated[list[int], operator.add, "a note after the reducer"]
    two_reducers: Annotated[dict[str, int], keep_last, merge_dict]


class Qualified(TypedDict):
    optional_items: NotRequired[Annotated[list[int], operator.add]]
    required_items: Required[Annotated[list[int], append]]
    read_only_items: ReadOnly[Annotated[list[int], operator.add]]
    inner_qualifier: Annotated[NotRequired[list[int]], operator.add]
    optional_plain: NotRequired[str]


class Partial(TypedDict, total=False):
    items: Annotated[list[int], operator.add]
    name: str


class Base(TypedDict):
    base_items: Annotated[list[int], operator.add]


class Derived(Base):
    extra: str


class Quoted(TypedDict):
    items: Annotated[list[int], operator.add]
    text: str


class StdlibTypedDict(typing.TypedDict):
    items: Annotated[list[int], operator.add]
    text: str


class ExtensionsTypedDict(typing_extensions.TypedDict):
    items: Annotated[list[int], operator.add]


def test_keys_and_no_reducers() -> None:
    schema = StateSchema.from_typeddict(Plain)
    assert schema.schema is Plain
    assert schema.keys == ("text", "count")
    assert schema.key_set == frozenset({"text", "count"})
    assert dict(schema.reducers) == {}


def test_reducers_come_from_annotated_metadata() -> None:
    schema = StateSchema.from_typeddict(WithReducers)
    assert schema.keys == ("items", "tags", "plain", "documented", "noted_reducer", "two_reducers")
    assert dict(schema.reducers) == {
        "items": operator.add,
        "tags": append,
        "noted_reducer": operator.add,
        "two_reducers": merge_dict,  # the last callable wins
    }


def test_reducers_through_required_not_required_and_read_only() -> None:
    schema = StateSchema.from_typeddict(Qualified)
    assert schema.keys == (
        "optional_items",
        "required_items",
        "read_only_items",
        "inner_qualifier",
        "optional_plain",
    )
    assert dict(schema.reducers) == {
        "optional_items": operator.add,
        "required_items": append,
        "read_only_items": operator.add,
        "inner_qualifier": operator.add,
    }


def test_a_total_false_schema() -> None:
    schema = StateSchema.from_typeddict(Partial)
    assert schema.keys == ("items", "name")
    assert dict(schema.reducers) == {"items": operator.add}


def test_inherited_keys() -> None:
    schema = StateSchema.from_typeddict(Derived)
    assert schema.keys == ("base_items", "extra")
    assert dict(schema.reducers) == {"base_items": operator.add}


@pytest.mark.parametrize("typeddict", [StdlibTypedDict, ExtensionsTypedDict, Quoted])
def test_both_typeddicts_and_quoted_annotations(typeddict: type[Any]) -> None:
    schema = StateSchema.from_typeddict(typeddict)
    assert schema.reducers["items"] is operator.add


def test_string_annotations_in_the_class_body(monkeypatch: pytest.MonkeyPatch) -> None:
    # a module written without `from __future__ import annotations`, quoting by hand
    module = types.ModuleType("quoted_state_module")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(
        "import operator\n"
        "from typing import Annotated, TypedDict\n"
        "class Quoted(TypedDict):\n"
        "    items: 'Annotated[list[int], operator.add]'\n"
        "    text: 'str'\n",
        module.__dict__,
    )
    schema = StateSchema.from_typeddict(module.Quoted)
    assert schema.keys == ("items", "text")
    assert dict(schema.reducers) == {"items": operator.add}


@dataclasses.dataclass
class NotATypedDict:
    n: int


@pytest.mark.parametrize(
    "schema", [dict, NotATypedDict, {"n": 1}, int, None, Plain(text="", count=0)]
)
def test_only_a_typeddict_class_is_a_schema(schema: object) -> None:
    message = (
        f"the state schema must be a TypedDict class, got {schema!r}; "
        "declare it as `class State(TypedDict): ...`"
    )
    with pytest.raises(GraphDefinitionError, match=f"^{re.escape(message)}$"):
        StateSchema.from_typeddict(schema)


def test_the_schema_is_frozen() -> None:
    schema = StateSchema.from_typeddict(Plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        schema.keys = ("other",)  # type: ignore[misc]


def test_reducers_apply_through_a_graph() -> None:
    def first(state: WithReducers) -> dict[str, object]:
        return {"items": [1], "tags": "a", "two_reducers": {"x": 1}}

    def second(state: WithReducers) -> dict[str, object]:
        return {"items": [2], "tags": ["b", "c"], "plain": "done", "two_reducers": {"y": 2}}

    graph = OrkesGraph(WithReducers).add_node(first).add_node(second)
    graph.add_edge(START, "first").add_edge("first", "second").add_edge("second", END)
    result = graph.compile().run(
        {
            "items": [0],
            "tags": [],
            "plain": "",
            "documented": 0,
            "noted_reducer": [],
            "two_reducers": {"w": 0},
        }
    )
    assert result == {
        "items": [0, 1, 2],
        "tags": ["a", "b", "c"],
        "plain": "done",
        "documented": 0,
        "noted_reducer": [],
        "two_reducers": {"w": 0, "x": 1, "y": 2},
    }


def test_a_reducer_key_without_a_value_takes_its_first_write_as_is() -> None:
    def write(state: Partial) -> Partial:
        return {"items": [7], "name": "x"}

    graph = OrkesGraph(Partial).add_node(write).add_edge(START, "write").add_edge("write", END)
    assert graph.compile().run({}) == {"items": [7], "name": "x"}
    assert graph.compile().run({"items": [1]}) == {"items": [1, 7], "name": "x"}


def test_not_required_reducer_keys_through_a_graph() -> None:
    def write(state: Qualified) -> dict[str, list[int]]:
        return {"optional_items": [2], "required_items": [3], "inner_qualifier": [4]}

    graph = OrkesGraph(Qualified).add_node(write).add_edge(START, "write").add_edge("write", END)
    result = graph.compile().run(
        {"optional_items": [1], "required_items": [1], "read_only_items": [], "inner_qualifier": []}
    )
    expected: Qualified = {
        "optional_items": [1, 2],
        "required_items": [1, 3],
        "read_only_items": [],
        "inner_qualifier": [4],
    }
    assert result == expected


def test_add_messages_reducer_key() -> None:
    class Chat(TypedDict):
        messages: Annotated[list[dict[str, str]], add_messages]

    schema = StateSchema.from_typeddict(Chat)
    assert dict(schema.reducers) == {"messages": add_messages}
