"""Tools: Python functions described as JSON Schema, and the running of a model's tool calls.

This module uses ``from __future__ import annotations``, so every annotation below is a
string: the tools defined here prove that string annotations are resolved.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import dataclasses
import datetime
import enum
import functools
import threading
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, NewType, Optional, Union

import pytest
import typing_extensions
from typing_extensions import NotRequired, ReadOnly, Required, TypedDict

from orkes import _type_hints
from orkes.connectors.tools import (
    ToolCallError,
    ToolSpec,
    _json_schema,
    arun_tool_calls,
    as_tool_specs,
    run_tool_calls,
    tool,
)
from orkes.errors import OrkesError, ToolDefinitionError
from orkes.shared.schema import OrkesMessageSchema, ToolCall

SUPPORTED = (
    "supported: str, int, float, bool, None, Any, Literal[...], Enum subclasses, list[T], "
    "Sequence[T], tuple[T, ...], dict[str, T], Optional[T], Union[...] (or X | Y), TypedDict, "
    'Annotated[T, "description"]'
)


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Shape(enum.Enum):
    SQUARE = (1, 1)


class Nothing(enum.Enum):
    pass


class Point(TypedDict):
    x: int
    y: int
    label: NotRequired[str]


class Options(TypedDict, total=False):
    verbose: bool
    level: Required[int]


class Frozen(TypedDict):
    name: ReadOnly[str]
    tag: NotRequired[ReadOnly[str]]


class PlainTypingTypedDict(typing.TypedDict):
    count: int
    note: NotRequired[str]


class Node(TypedDict):
    children: list[Node]


class Painted(TypedDict):
    color: Color
    corners: tuple[Point, ...]


UserId = NewType("UserId", int)


class Opaque:
    """A class that has no JSON form."""


def make_reply(*calls: ToolCall) -> OrkesMessageSchema:
    return OrkesMessageSchema(role="assistant", content="", tool_calls=list(calls))


def call(name: str, call_id: str = "call_1", /, **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


def answer(call_id: str, name: str, content: str) -> OrkesMessageSchema:
    return OrkesMessageSchema(role="tool", content=content, tool_call_id=call_id, name=name)


def schema_of(annotation: object) -> Any:
    """The schema of a parameter annotated with a real (not string) annotation."""

    def probe(x: Any) -> Any:
        return x

    probe.__annotations__ = {"x": annotation}
    return ToolSpec.from_function(probe).parameters["properties"]["x"]


# --- annotations and the schemas they give --------------------------------------------

POINT_SCHEMA = {
    "type": "object",
    "properties": {
        "x": {"type": "integer"},
        "y": {"type": "integer"},
        "label": {"type": "string"},
    },
    "required": ["x", "y"],
}


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Any, {}),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
        (Literal[True], {"type": "boolean", "enum": [True]}),
        (Literal[0.5], {"type": "number", "enum": [0.5]}),
        (Literal["a", 1, None], {"type": ["string", "integer", "null"], "enum": ["a", 1, None]}),
        (Literal[Color.RED], {"type": "string", "enum": ["red"]}),
        (Color, {"type": "string", "enum": ["red", "green"]}),
        (Priority, {"type": "integer", "enum": [1, 2]}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (typing.List[int], {"type": "array", "items": {"type": "integer"}}),  # noqa: UP006
        (list, {"type": "array"}),
        (list[Any], {"type": "array"}),
        (Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (typing.Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (tuple[float, ...], {"type": "array", "items": {"type": "number"}}),
        (tuple, {"type": "array"}),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (Mapping[str, bool], {"type": "object", "additionalProperties": {"type": "boolean"}}),
        (dict, {"type": "object"}),
        (dict[str, Any], {"type": "object"}),
        (Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),  # noqa: UP045
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}),  # noqa: UP007
        (
            list[int] | str,
            {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "string"}]},
        ),
        (Point, POINT_SCHEMA),
        (
            Options,
            {
                "type": "object",
                "properties": {"verbose": {"type": "boolean"}, "level": {"type": "integer"}},
                "required": ["level"],
            },
        ),
        (list[Point], {"type": "array", "items": POINT_SCHEMA}),
        (
            Frozen,
            {
                "type": "object",
                "properties": {"name": {"type": "string"}, "tag": {"type": "string"}},
                "required": ["name"],
            },
        ),
        (
            PlainTypingTypedDict,
            {
                "type": "object",
                "properties": {"count": {"type": "integer"}, "note": {"type": "string"}},
                "required": ["count"],
            },
        ),
        (typing_extensions.Literal["x"], {"type": "string", "enum": ["x"]}),
        (typing_extensions.Any, {}),
        (Annotated[int, "How many."], {"type": "integer", "description": "How many."}),
        (
            Annotated[int, 3, "First text wins.", "Not this."],
            {"type": "integer", "description": "First text wins."},
        ),
        (Annotated[int, {"not": "text"}], {"type": "integer"}),
        (
            Annotated[list[Annotated[str, "A tag."]], "The tags."],
            {
                "type": "array",
                "items": {"type": "string", "description": "A tag."},
                "description": "The tags.",
            },
        ),
        (UserId, {"type": "integer"}),
        (Nothing, {"enum": []}),
    ],
)
def test_annotation_gives_schema(annotation: object, expected: dict[str, Any]) -> None:
    assert schema_of(annotation) == expected


def test_typeddict_with_string_annotations_and_not_required() -> None:
    # Point's annotations are strings here: `__required_keys__` would count `label` in.
    assert Point.__required_keys__ == {"x", "y", "label"}
    assert schema_of(Point)["required"] == ["x", "y"]


# --- whole functions: names, descriptions, defaults ------------------------------------


class Cabin(enum.Enum):
    ECONOMY = "economy"
    BUSINESS = "business"


def book_flight(
    origin: str,
    destination: Annotated[str, "IATA code of the arrival airport."],
    seats: int = 1,
    cabin: Cabin = Cabin.ECONOMY,
    stops: tuple[str, ...] = ("CPH",),
    notes: str | None = None,
) -> dict[str, Any]:
    """Book a flight.

    Pays with the card on file.

    Args:
        origin (str): IATA code of the departure
            airport, e.g. "OSL".
        destination: Not used: Annotated wins.
        seats:
            How many seats.
        cabin: Which cabin.

    Returns:
        The booking.
    """
    return {"origin": origin, "destination": destination, "seats": seats}


BOOK_FLIGHT = ToolSpec(
    name="book_flight",
    description="Book a flight.\n\nPays with the card on file.\n\nReturns:\n    The booking.",
    parameters={
        "type": "object",
        "properties": {
            "origin": {
                "type": "string",
                "description": 'IATA code of the departure airport, e.g. "OSL".',
            },
            "destination": {"type": "string", "description": "IATA code of the arrival airport."},
            "seats": {"type": "integer", "description": "How many seats.", "default": 1},
            "cabin": {
                "type": "string",
                "enum": ["economy", "business"],
                "description": "Which cabin.",
                "default": "economy",
            },
            "stops": {"type": "array", "items": {"type": "string"}, "default": ["CPH"]},
            "notes": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        "required": ["origin", "destination"],
    },
)


def test_google_docstring_and_defaults() -> None:
    spec = ToolSpec.from_function(book_flight)
    assert spec == BOOK_FLIGHT
    assert spec.fn is book_flight


def get_weather(city: str, days: int = 1, unit: Literal["C", "F"] = "C") -> str:
    """Get the forecast.

    :param city: The city,
        in English.
    :type city: str
    :param int days: How many days ahead.
    :returns: The forecast as text.
    """
    return f"{city}: sunny"


def test_rest_docstring() -> None:
    assert ToolSpec.from_function(get_weather) == ToolSpec(
        name="get_weather",
        description="Get the forecast.\n\n:returns: The forecast as text.",
        parameters={
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, in English."},
                "days": {"type": "integer", "description": "How many days ahead.", "default": 1},
                "unit": {"type": "string", "enum": ["C", "F"], "default": "C"},
            },
            "required": ["city"],
        },
    )


def convert(amount: float, low: int = 0, high: int = 9, *, strict: bool = False) -> str:
    """Convert an amount.

    Parameters
    ----------
    amount : float
        How much,
        in US dollars.
    low, high : int, optional
        The range.

    strict
        Refuse what is out of range.

    Returns
    -------
    str
        The amount in euros.
    """
    return f"{amount}"


def test_numpy_docstring() -> None:
    spec = ToolSpec.from_function(convert)
    assert (
        spec.description == "Convert an amount.\n\nReturns\n-------\nstr\n    The amount in euros."
    )
    described = {
        name: schema.get("description") for name, schema in spec.parameters["properties"].items()
    }
    assert described == {
        "amount": "How much, in US dollars.",
        "low": "The range.",
        "high": "The range.",
        "strict": "Refuse what is out of range.",
    }


def undocumented(a: int) -> int:
    return a


def test_no_docstring_gives_empty_description() -> None:
    assert ToolSpec.from_function(undocumented).description == ""


def documented_elsewhere(a: int) -> int:
    """Ignore this.

    Args:
        a: The number.

    Note:
        Kept, as every section but the parameters.
    """
    return a


def test_name_and_description_can_be_given() -> None:
    spec = ToolSpec.from_function(documented_elsewhere, name="echo_number", description="Echo.")
    assert (spec.name, spec.description) == ("echo_number", "Echo.")
    assert spec.parameters["properties"] == {"a": {"type": "integer", "description": "The number."}}
    assert ToolSpec.from_function(documented_elsewhere).description == (
        "Ignore this.\n\nNote:\n    Kept, as every section but the parameters."
    )


SENTINEL = object()


def with_odd_default(text: Any = SENTINEL) -> str:
    return str(text)


def test_default_without_json_form_is_left_out() -> None:
    assert ToolSpec.from_function(with_odd_default).parameters == {
        "type": "object",
        "properties": {"text": {}},
        "required": [],
    }


class Label(str):
    """A str subclass: its default is sent as a plain string."""


INT_KEYS = {1: 2}
HOLDS_ITSELF: list[Any] = []
HOLDS_ITSELF.append(HOLDS_ITSELF)
NOT_A_NUMBER = float("nan")
NESTED = {"low": Priority.LOW, "pair": (Label("a"), 2)}


def with_defaults_json_cannot_hold(
    keys: dict[str, int] = INT_KEYS,  # type: ignore[assignment]
    loop: list[Any] = HOLDS_ITSELF,
    ratio: float = NOT_A_NUMBER,
    day: Any = datetime.date(2024, 5, 1),
    label: str = Label("x"),
    nested: dict[str, Any] = NESTED,
) -> None: ...


def test_only_defaults_with_an_exact_json_form_are_shown() -> None:
    properties = ToolSpec.from_function(with_defaults_json_cannot_hold).parameters["properties"]
    assert [name for name, schema in properties.items() if "default" in schema] == [
        "label",
        "nested",
    ]
    assert type(properties["label"]["default"]) is str
    assert properties["nested"]["default"] == {"low": 1, "pair": ["a", 2]}
    assert type(properties["nested"]["default"]["pair"][0]) is str


def no_parameters() -> str:
    """Say hi."""
    return "hi"


def empty_args_section(a: int) -> int:
    """Do it.

    Args:
        ...
    """
    return a


def test_args_section_without_entries() -> None:
    assert ToolSpec.from_function(empty_args_section) == ToolSpec(
        "empty_args_section", "Do it.", INTEGER_A
    )


def test_function_without_parameters() -> None:
    assert ToolSpec.from_function(no_parameters).parameters == {
        "type": "object",
        "properties": {},
        "required": [],
    }


class Calculator:
    """A callable object: its class docstring describes it."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def add(self, a: int) -> int:
        """Add the offset."""
        return a + self.offset

    @classmethod
    def make(cls, offset: int) -> Calculator:
        """Make one."""
        return cls(offset)

    def __call__(self, a: int) -> int:
        return a * self.offset


INTEGER_A = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def test_bound_methods_leave_out_self() -> None:
    spec = ToolSpec.from_function(Calculator(10).add)
    assert spec == ToolSpec("add", "Add the offset.", INTEGER_A)
    assert spec(a=1) == 11
    made = ToolSpec.from_function(Calculator.make)
    assert made.parameters["properties"] == {"offset": {"type": "integer"}}


def test_callable_object_and_partial() -> None:
    instance = ToolSpec.from_function(Calculator(3))
    assert instance == ToolSpec(
        "Calculator", "A callable object: its class docstring describes it.", INTEGER_A
    )
    partial = ToolSpec.from_function(functools.partial(book_flight, "OSL", seats=2))
    assert partial.name == "book_flight"
    assert partial.parameters["required"] == ["destination"]
    assert list(partial.parameters["properties"]) == ["destination", "cabin", "stops", "notes"]


def search(query: str, api_key: str) -> str:
    """Search the web."""
    return f"results for {query} with key {api_key[:5]}..."


def test_what_a_partial_binds_is_not_the_models() -> None:
    spec = tool(functools.partial(search, api_key="sk-live-SECRET"), name="search")
    assert spec.parameters == {
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
    }
    reply = make_reply(
        call("search", "1", query="x"), call("search", "2", query="x", api_key="attacker")
    )
    assert run_tool_calls(reply, [spec]) == [
        answer("1", "search", "results for x with key sk-li..."),
        answer(
            "2",
            "search",
            "Error: invalid arguments for tool 'search': "
            "unexpected argument 'api_key' (parameters: 'query')",
        ),
    ]


def test_what_nested_partials_bind_by_position_or_keyword_is_left_out() -> None:
    inner = functools.partial(book_flight, "OSL", cabin=Cabin.BUSINESS)
    inner.note = "an attribute keeps functools from flattening the two"  # type: ignore[attr-defined]
    outer = functools.partial(inner, seats=2)
    assert outer.func is inner
    spec = tool(outer)
    assert spec.parameters["properties"] == {
        "destination": {"type": "string", "description": "IATA code of the arrival airport."},
        "stops": {"type": "array", "items": {"type": "string"}, "default": ["CPH"]},
        "notes": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    }
    assert spec.parameters["required"] == ["destination"]
    reply = make_reply(
        call("book_flight", "1", destination="BGO"),
        call("book_flight", "2", destination="BGO", origin="TRD", seats=9, cabin="economy"),
    )
    assert run_tool_calls(reply, [spec]) == [
        answer("1", "book_flight", '{"origin": "OSL", "destination": "BGO", "seats": 2}'),
        answer(
            "2",
            "book_flight",
            "Error: invalid arguments for tool 'book_flight': unexpected arguments 'origin', "
            "'seats', 'cabin' (parameters: 'destination', 'stops', 'notes')",
        ),
    ]


async def fetch(url: str) -> str:
    """Fetch a page."""
    await asyncio.sleep(0)
    return f"<html>{url}</html>"


def test_async_function() -> None:
    spec = tool(fetch)
    expected = {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}
    assert (spec.name, spec.description, spec.parameters) == ("fetch", "Fetch a page.", expected)


def test_spec_is_frozen_and_fn_is_not_compared_or_shown() -> None:
    spec = ToolSpec.from_function(undocumented)
    assert spec == ToolSpec("undocumented", "", INTEGER_A, fn=None)
    assert "fn" not in repr(spec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"^tool 'x' has no function to call \(its fn is None\)$"):
        ToolSpec("x", "", INTEGER_A)(1)


def test_tool_decorator_forms() -> None:
    @tool
    def plain(a: int) -> int:
        return a

    @tool()
    def empty_call(a: int) -> int:
        return a

    @tool(name="renamed", description="Given.")
    def configured(a: int) -> int:
        return a

    assert [plain.name, empty_call.name, configured.name] == ["plain", "empty_call", "renamed"]
    assert configured.description == "Given."
    assert plain(4) == 4
    assert tool(undocumented, name="other").name == "other"
    again = tool(name="again")(plain)
    assert (again.name, again.description, again.fn) == ("again", "", plain.fn)
    assert ToolSpec.from_function(plain) is not plain
    assert ToolSpec.from_function(plain) == plain


def test_as_tool_specs_mixes_functions_and_specs() -> None:
    spec = ToolSpec.from_function(get_weather)
    specs = as_tool_specs([undocumented, spec, tool(no_parameters)])
    assert [s.name for s in specs] == ["undocumented", "get_weather", "no_parameters"]
    assert specs[1] is spec


# --- what can't be a tool, and why --------------------------------------------------------


def test_duplicate_names() -> None:
    with pytest.raises(ToolDefinitionError) as caught:
        as_tool_specs([undocumented, tool(get_weather, name="undocumented")])
    assert str(caught.value) == (
        "two tools are named 'undocumented'; tool names must be unique "
        "(rename one with tool(fn, name=...))"
    )


def test_single_tool_instead_of_a_list() -> None:
    with pytest.raises(
        ToolDefinitionError, match=r"^expected a list of tools, got the single tool"
    ):
        as_tool_specs(undocumented)  # type: ignore[arg-type]


def test_not_callable() -> None:
    with pytest.raises(ToolDefinitionError) as caught:
        as_tool_specs([3])  # type: ignore[list-item]
    assert str(caught.value) == "a tool must be a function or a ToolSpec, got 3"


def no_annotation(city: str, days: int) -> str:
    return city


del no_annotation.__annotations__["city"]


def star_args(*numbers: int) -> int:
    return sum(numbers)


def star_kwargs(**options: str) -> str:
    return str(options)


def positional_only(a: int, /) -> int:
    return a


def unsupported_class(where: Opaque) -> None: ...


def unsupported_callable(callback: Callable[[int], str]) -> None: ...


def unsupported_set(tags: set[str]) -> None: ...


def unsupported_nested(groups: list[set[int]]) -> None: ...


def unsupported_keys(table: dict[int, str]) -> None: ...


def unsupported_tuple(pair: tuple[int, str]) -> None: ...


def unsupported_recursion(tree: Node) -> None: ...


def unsupported_literal(raw: Literal[b"x"]) -> None: ...


def unsupported_enum(shape: Shape) -> None: ...


def unsupported_union_arm(tags: str | set[str]) -> None: ...


def unsupported_unhashable(items: list[int]) -> None: ...


unsupported_unhashable.__annotations__ = {"items": [int]}


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (
            no_annotation,
            "parameter 'city' of function 'no_annotation' has no type annotation; annotate it "
            "(for example `city: str`) so the model knows what to send",
        ),
        (
            star_args,
            "parameter 'numbers' of function 'star_args' is *numbers; a tool takes named "
            "parameters only: list each one with its type",
        ),
        (
            star_kwargs,
            "parameter 'options' of function 'star_kwargs' is **options; a tool takes named "
            "parameters only: list each one with its type",
        ),
        (
            positional_only,
            "parameter 'a' of function 'positional_only' is positional-only; a tool is called "
            "with keyword arguments: remove the '/'",
        ),
        (
            unsupported_class,
            "parameter 'where' of function 'unsupported_class' has an unsupported annotation "
            f"Opaque; {SUPPORTED}",
        ),
        (
            unsupported_callable,
            "parameter 'callback' of function 'unsupported_callable' has an unsupported "
            f"annotation collections.abc.Callable[[int], str]; {SUPPORTED}",
        ),
        (
            unsupported_set,
            "parameter 'tags' of function 'unsupported_set' has an unsupported annotation "
            f"set[str]; {SUPPORTED}",
        ),
        (
            unsupported_nested,
            "parameter 'groups' of function 'unsupported_nested' has an unsupported annotation "
            f"list[set[int]] (set[int] is not supported); {SUPPORTED}",
        ),
        (
            unsupported_keys,
            "parameter 'table' of function 'unsupported_keys' has an unsupported annotation "
            f"dict[int, str] (keys must be str, as in every JSON object); {SUPPORTED}",
        ),
        (
            unsupported_tuple,
            "parameter 'pair' of function 'unsupported_tuple' has an unsupported annotation "
            f"tuple[int, str] (only tuple[T, ...] is supported, or use list[T]); {SUPPORTED}",
        ),
        (
            unsupported_recursion,
            "parameter 'tree' of function 'unsupported_recursion' has an unsupported annotation "
            "Node (a TypedDict that contains itself can't be described); " + SUPPORTED,
        ),
        (
            unsupported_literal,
            "parameter 'raw' of function 'unsupported_literal' has an unsupported annotation "
            "Literal[b'x'] (value b'x' is not a str, int, float, bool or None); " + SUPPORTED,
        ),
        (
            unsupported_enum,
            "parameter 'shape' of function 'unsupported_enum' has an unsupported annotation "
            "Shape (value (1, 1) is not a str, int, float, bool or None); " + SUPPORTED,
        ),
        (
            unsupported_union_arm,
            "parameter 'tags' of function 'unsupported_union_arm' has an unsupported "
            f"annotation str | set[str] (set[str] is not supported); {SUPPORTED}",
        ),
        (
            unsupported_unhashable,
            "parameter 'items' of function 'unsupported_unhashable' has an unsupported "
            f"annotation [<class 'int'>]; {SUPPORTED}",
        ),
    ],
)
def test_definition_errors(fn: Callable[..., Any], message: str) -> None:
    with pytest.raises(ToolDefinitionError) as caught:
        ToolSpec.from_function(fn)
    assert str(caught.value) == message
    assert isinstance(caught.value, OrkesError)
    assert isinstance(caught.value, TypeError)


def unresolved(x: int) -> None: ...


unresolved.__annotations__ = {"x": "Missing"}


class Broken(TypedDict):
    x: int


Broken.__annotations__["x"] = "Missing"


def with_broken_typeddict(value: Broken) -> None: ...


def test_annotations_that_cannot_be_resolved() -> None:
    with pytest.raises(ToolDefinitionError) as caught:
        ToolSpec.from_function(unresolved)
    assert str(caught.value) == (
        "can't resolve the annotation of parameter 'x' of tool 'unresolved': name 'Missing' is "
        "not defined in the module of function 'unresolved', in its closure, or in the "
        "functions running when the tool was made; import 'Missing' at module level, or make "
        "the tool (tool(unresolved)) inside the function that imports it"
    )
    assert isinstance(caught.value.__cause__, NameError)
    with pytest.raises(ToolDefinitionError) as caught:
        ToolSpec.from_function(with_broken_typeddict)
    assert str(caught.value) == (
        "parameter 'value' of function 'with_broken_typeddict' has an unsupported annotation "
        "Broken (its annotations can't be resolved: NameError: name 'Missing' is not "
        f"defined); {SUPPORTED}"
    )


def test_signature_that_cannot_be_read() -> None:
    with pytest.raises(ToolDefinitionError) as caught:
        ToolSpec.from_function(max)
    assert str(caught.value) == (
        "can't read the signature of function 'max': "
        "no signature found for builtin <built-in function max>"
    )


@pytest.mark.parametrize("name", ["<lambda>", "has space", "", "x" * 65])
def test_tool_names_services_refuse(name: str) -> None:
    with pytest.raises(ToolDefinitionError) as caught:
        tool(undocumented, name=name)
    assert str(caught.value) == (
        f"tool name {name!r} is not allowed: use 1 to 64 letters, digits, '_' or '-' "
        "(give another with tool(fn, name=...))"
    )


def test_lambda_needs_a_name() -> None:
    with pytest.raises(ToolDefinitionError, match=r"^tool name '<lambda>' is not allowed"):
        tool(lambda: None)
    assert tool(lambda: None, name="nothing").name == "nothing"
    spec = tool(undocumented)
    with pytest.raises(ToolDefinitionError, match=r"^tool name 'a b' is not allowed"):
        ToolSpec.from_function(spec, name="a b")


# --- running tool calls -----------------------------------------------------------------


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def describe(value: Any) -> str:
    """Name the Python type the tool received, and show the value."""
    return f"{type(value).__name__} {value!r}"


def test_results_in_order_as_text_or_json() -> None:
    def structured() -> dict[str, Any]:
        return {"when": datetime.date(2024, 5, 1), "ok": True, "word": "ÆØÅ"}

    def nothing() -> None:
        return None

    def circular() -> list[Any]:
        loop: list[Any] = []
        loop.append(loop)
        return loop

    def tuple_keys() -> dict[tuple[int, int], str]:
        return {(1, 2): "pair"}

    reply = make_reply(
        call("add", "1", a=2, b=3),
        call("describe", "2", value="text"),
        call("structured", "3"),
        call("nothing", "4"),
        call("circular", "5"),
        call("tuple_keys", "6"),
    )
    tools: list[Callable[..., Any]] = [add, describe, structured, nothing, circular, tuple_keys]
    expected = [
        answer("1", "add", "5"),
        answer("2", "describe", "str 'text'"),
        answer("3", "structured", '{"when": "2024-05-01", "ok": true, "word": "ÆØÅ"}'),
        answer("4", "nothing", "null"),
        answer("5", "circular", "[[...]]"),
        answer("6", "tuple_keys", "{(1, 2): 'pair'}"),
    ]
    assert run_tool_calls(reply, tools) == expected
    assert asyncio.run(arun_tool_calls(reply, tools)) == expected


def test_no_tool_calls() -> None:
    assert run_tool_calls(OrkesMessageSchema(role="assistant", content="Hi"), [add]) == []
    assert asyncio.run(arun_tool_calls(make_reply(), [add])) == []


@pytest.mark.parametrize(
    ("message", "says"),
    [
        (
            [make_reply()],
            "run_tool_calls takes the model's reply, one message (messages[-1]), got list [",
        ),
        (
            {"role": "assistant", "content": "", "tool_calls": {"name": "add"}},
            "a message's tool_calls is a list of {'id': ..., 'name': ..., 'arguments': {...}}, "
            "got {'name': 'add'}",
        ),
        (
            {"role": "assistant", "content": "", "tool_calls": ["add"]},
            "a message's tool_calls is a list of {'id': ..., 'name': ..., 'arguments': {...}}, "
            "got ['add']",
        ),
    ],
    ids=["a-list-of-messages", "calls-a-dict", "a-call-a-str"],
)
def test_what_is_not_a_reply_with_tool_calls_is_refused_by_name(message: Any, says: str) -> None:
    with pytest.raises(ToolDefinitionError) as caught:
        run_tool_calls(message, [add])
    assert str(caught.value).startswith(says)
    with pytest.raises(ToolDefinitionError):
        asyncio.run(arun_tool_calls(message, [add]))


def test_missing_id_and_null_arguments() -> None:
    reply = make_reply(typing.cast(ToolCall, {"name": "no_parameters", "arguments": None}))
    assert run_tool_calls(reply, [no_parameters]) == [answer("", "no_parameters", "hi")]


def test_sync_tools_run_in_parallel_threads() -> None:
    barrier = threading.Barrier(2, timeout=5)

    def left() -> str:
        barrier.wait()  # returns only once `right` waits too: both run at once
        return "left"

    def right() -> str:
        barrier.wait()
        return "right"

    reply = make_reply(call("left", "1"), call("right", "2"))
    expected = [answer("1", "left", "left"), answer("2", "right", "right")]
    assert run_tool_calls(reply, [left, right]) == expected
    barrier.reset()
    assert asyncio.run(arun_tool_calls(reply, [left, right])) == expected


def test_max_workers_one_runs_one_at_a_time() -> None:
    barrier = threading.Barrier(2, timeout=0.2)

    def wait() -> str:
        barrier.wait()
        return "met"

    reply = make_reply(call("wait", "1"), call("wait", "2"))
    answers = run_tool_calls(reply, [wait], max_workers=1)
    assert [a["content"] for a in answers] == [
        "Error: tool 'wait' failed: BrokenBarrierError",
        "Error: tool 'wait' failed: BrokenBarrierError",
    ]


def test_async_tools_run_concurrently() -> None:
    running = 0
    most_at_once = 0

    async def slow(n: int) -> int:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        await asyncio.sleep(0.01)
        running -= 1
        return n

    reply = make_reply(*(call("slow", str(n), n=n) for n in range(3)))
    answers = asyncio.run(arun_tool_calls(reply, [slow]))
    assert [a["content"] for a in answers] == ["0", "1", "2"]
    assert most_at_once == 3
    most_at_once = 0
    asyncio.run(arun_tool_calls(reply, [slow], max_workers=1))
    assert most_at_once == 1


def test_async_tools_from_the_sync_helper_run_in_parallel_threads() -> None:
    barrier = threading.Barrier(2, timeout=5)

    async def meet(name: str) -> str:
        await asyncio.sleep(0)
        barrier.wait()  # blocks only this thread's own event loop
        return name

    reply = make_reply(call("meet", "1", name="a"), call("meet", "2", name="b"))
    assert run_tool_calls(reply, [meet]) == [answer("1", "meet", "a"), answer("2", "meet", "b")]


def test_one_async_tool_from_the_sync_helper() -> None:
    reply = make_reply(call("fetch", url="x.io"))
    assert run_tool_calls(reply, [fetch]) == [answer("call_1", "fetch", "<html>x.io</html>")]

    async def inside_a_running_loop() -> list[OrkesMessageSchema]:
        return run_tool_calls(reply, [fetch])

    assert asyncio.run(inside_a_running_loop()) == [answer("call_1", "fetch", "<html>x.io</html>")]


class AsyncCallable:
    """Doubles a number, asynchronously."""

    async def __call__(self, n: int) -> int:
        await asyncio.sleep(0)
        return 2 * n


def test_awaitables_from_objects_and_sync_functions() -> None:
    async def later(n: int) -> int:
        return n

    def returns_awaitable(n: int) -> collections.abc.Awaitable[int]:
        return later(n)

    reply = make_reply(call("AsyncCallable", "1", n=2), call("returns_awaitable", "2", n=7))
    tools: list[Callable[..., Any]] = [AsyncCallable(), returns_awaitable]
    expected = [answer("1", "AsyncCallable", "4"), answer("2", "returns_awaitable", "7")]
    assert run_tool_calls(reply, tools) == expected
    assert asyncio.run(arun_tool_calls(reply, tools)) == expected


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="none")


def test_tools_see_the_callers_context_variables() -> None:
    def request_id() -> str:
        return REQUEST_ID.get()

    reply = make_reply(call("request_id", "1"), call("request_id", "2"))
    token = REQUEST_ID.set("r-42")
    try:
        assert [a["content"] for a in run_tool_calls(reply, [request_id])] == ["r-42", "r-42"]
        answers = asyncio.run(arun_tool_calls(reply, [request_id]))
        assert [a["content"] for a in answers] == ["r-42", "r-42"]
    finally:
        REQUEST_ID.reset(token)


# --- failures: told to the model, or raised -------------------------------------------


def fail(reason: str) -> str:
    if reason:
        raise ValueError(reason)
    raise KeyError


def test_tool_failure_is_told_to_the_model() -> None:
    reply = make_reply(call("fail", "1", reason="boom"), call("fail", "2", reason=""))
    expected = [
        answer("1", "fail", "Error: tool 'fail' failed: ValueError: boom"),
        answer("2", "fail", "Error: tool 'fail' failed: KeyError"),
    ]
    assert run_tool_calls(reply, [fail]) == expected
    assert asyncio.run(arun_tool_calls(reply, [fail])) == expected


def test_tool_failure_raised_with_raise_errors() -> None:
    reply = make_reply(call("add", "1", a=1, b=2), call("fail", "2", reason="boom"))
    for run in (run_tool_calls, lambda *a, **k: asyncio.run(arun_tool_calls(*a, **k))):
        with pytest.raises(ToolCallError) as caught:
            run(reply, [add, fail], raise_errors=True)
        assert str(caught.value) == "tool 'fail' failed: ValueError: boom"
        assert (caught.value.tool, caught.value.call_id) == ("fail", "2")
        assert isinstance(caught.value.__cause__, ValueError)
        assert isinstance(caught.value, OrkesError)
        assert isinstance(caught.value, RuntimeError)


def test_unknown_tool() -> None:
    reply = make_reply(call("mul", a=1))
    assert run_tool_calls(reply, [add, fail]) == [
        answer("call_1", "mul", "Error: unknown tool 'mul'; the tools are: 'add', 'fail'")
    ]
    assert run_tool_calls(reply, []) == [
        answer("call_1", "mul", "Error: unknown tool 'mul'; the tools are: none")
    ]


def test_wrong_calls_raise_before_any_tool_runs() -> None:
    ran: list[int] = []

    def record(n: int) -> None:
        ran.append(n)

    reply = make_reply(call("record", "1", n=1), call("mul", "2"))
    with pytest.raises(ToolCallError) as caught:
        run_tool_calls(reply, [record], raise_errors=True)
    assert str(caught.value) == "unknown tool 'mul'; the tools are: 'record'"
    assert caught.value.__cause__ is None
    with pytest.raises(ToolCallError, match=r"^invalid arguments for tool 'record'"):
        asyncio.run(arun_tool_calls(make_reply(call("record", n="1")), [record], raise_errors=True))
    assert ran == []


def test_spec_without_function() -> None:
    reply = make_reply(call("ghost"))
    assert run_tool_calls(reply, [ToolSpec("ghost", "", INTEGER_A)]) == [
        answer("call_1", "ghost", "Error: tool 'ghost' can't run: its ToolSpec has no fn")
    ]


def test_bad_max_workers() -> None:
    with pytest.raises(ToolDefinitionError, match=r"^max_workers must be at least 1, got 0$"):
        run_tool_calls(make_reply(), [add], max_workers=0)


def painted(shape: Painted) -> str:
    return describe(shape)


def choose(
    color: Color | None = None,
    level: Priority = Priority.LOW,
    exact: Literal[Color.RED, "other"] = "other",
    ratio: float = 1.0,
    count: UserId = UserId(0),
    either: list[int] | str = "",
) -> str:
    return ", ".join(describe(v) for v in (color, level, exact, ratio, count, either))


@pytest.mark.parametrize(
    ("tool_name", "arguments", "problems"),
    [
        ("add", {"a": 1}, "missing required argument 'b'"),
        ("add", {"a": "1", "b": 2}, "argument 'a' should be integer, got string \"1\""),
        ("add", {"a": True, "b": 2}, "argument 'a' should be integer, got boolean true"),
        ("add", {"a": 1.5, "b": 2}, "argument 'a' should be integer, got number 1.5"),
        ("add", {"a": None, "b": 2}, "argument 'a' should be integer, got null"),
        (
            "add",
            {"a": 1, "b": 2, "c": 3},
            "unexpected argument 'c' (parameters: 'a', 'b')",
        ),
        (
            "add",
            {"c": 3, "d": 4},
            "missing required argument 'a'; missing required argument 'b'; "
            "unexpected arguments 'c', 'd' (parameters: 'a', 'b')",
        ),
        ("no_parameters", {"x": 1}, "unexpected argument 'x' (parameters: none)"),
        ("add", '"a=1"', 'the arguments should be a JSON object, got string "a=1"'),
        ("add", "[1, 2]", "the arguments should be a JSON object, got array [1, 2]"),
        (
            "choose",
            {"color": "blue"},
            'argument \'color\' should be one of "red", "green" or null, got string "blue"',
        ),
        ("choose", {"level": 3}, "argument 'level' should be one of 1, 2, got integer 3"),
        ("choose", {"level": True}, "argument 'level' should be one of 1, 2, got boolean true"),
        (
            "choose",
            {"either": [1, "x"]},
            "argument 'either[1]' should be integer, got string \"x\"",
        ),
        ("choose", {"either": 5}, "argument 'either' should be array or string, got integer 5"),
        (
            "choose",
            {"ratio": "x" * 80},
            f"argument 'ratio' should be number, got string \"{'x' * 56}...",
        ),
        (
            "painted",
            {"shape": {"color": "red", "corners": [{"x": 1}, {"x": "2", "y": 2}]}},
            "argument 'shape.corners[0]' is missing required key 'y'; "
            "argument 'shape.corners[1].x' should be integer, got string \"2\"",
        ),
        ("painted", {"shape": []}, "argument 'shape' should be object, got array []"),
    ],
)
def test_bad_arguments_are_told_to_the_model(tool_name: str, arguments: Any, problems: str) -> None:
    reply = make_reply(ToolCall(id="c", name=tool_name, arguments=arguments))
    tools: list[Callable[..., Any]] = [add, no_parameters, choose, painted]
    expected = [
        answer("c", tool_name, f"Error: invalid arguments for tool {tool_name!r}: {problems}")
    ]
    assert run_tool_calls(reply, tools) == expected
    assert asyncio.run(arun_tool_calls(reply, tools)) == expected


@pytest.mark.parametrize(
    ("arguments", "content"),
    [
        ('{"a": 1, "b": 2}', "3"),
        (
            "",
            "Error: invalid arguments for tool 'add': missing required argument 'a'; "
            "missing required argument 'b'",
        ),
        (
            '{"a": 1, "b": ',
            "Error: the arguments of tool 'add' are not valid JSON (Expecting "
            'value: line 1 column 15 (char 14)): \'{"a": 1, "b": \'; send one JSON object',
        ),
    ],
)
def test_arguments_as_the_service_sent_them_are_read_as_json(arguments: str, content: str) -> None:
    reply = make_reply(ToolCall(id="c", name="add", arguments=arguments))  # type: ignore[typeddict-item]
    assert run_tool_calls(reply, [add]) == [answer("c", "add", content)]
    assert asyncio.run(arun_tool_calls(reply, [add])) == [answer("c", "add", content)]


def test_arguments_are_converted_where_safe() -> None:
    reply = make_reply(
        call("choose", "1", color="green", level=2, exact="red", ratio=2, count=3.0, either=[1]),
        call("choose", "2", color=None, exact="other", either="s"),
        call("painted", "3", shape={"color": "red", "corners": [{"x": 1, "y": 2}], "extra": 1}),
    )
    assert [a["content"] for a in run_tool_calls(reply, [choose, painted])] == [
        "Color <Color.GREEN: 'green'>, Priority <Priority.HIGH: 2>, Color <Color.RED: 'red'>, "
        "float 2.0, int 3, list [1]",
        "NoneType None, Priority <Priority.LOW: 1>, str 'other', float 1.0, int 0, str 's'",
        "dict {'color': <Color.RED: 'red'>, 'corners': ({'x': 1, 'y': 2},), 'extra': 1}",
    ]


def test_hand_written_spec_with_extra_arguments() -> None:
    def total(**amounts: int) -> int:
        return sum(amounts.values())

    spec = ToolSpec(
        "total",
        "Sum the amounts.",
        {
            "type": "object",
            "properties": {},
            "required": [],
            "additionalProperties": {"type": "integer"},
        },
        fn=total,
    )
    reply = make_reply(call("total", "1", a=1, b=2), call("total", "2", a="x"))
    assert run_tool_calls(reply, [spec]) == [
        answer("1", "total", "3"),
        answer(
            "2",
            "total",
            "Error: invalid arguments for tool 'total': "
            "argument 'a' should be integer, got string \"x\"",
        ),
    ]


DEFAULT_WEIGHTS = {"low": Priority.LOW, "pair": (1, 2)}


def weigh(
    weights: dict[str, float] = DEFAULT_WEIGHTS,  # type: ignore[assignment]
    ratio: Annotated[float, "A ratio."] = 1,
) -> str:
    return f"{describe(weights)}, {describe(ratio)}"


def test_defaults_in_json_form_and_nested_conversion() -> None:
    assert ToolSpec.from_function(weigh).parameters["properties"] == {
        "weights": {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "default": {"low": 1, "pair": [1, 2]},
        },
        "ratio": {"type": "number", "description": "A ratio.", "default": 1},
    }
    reply = make_reply(call("weigh", "1", weights={"a": 1, "b": 0.5}, ratio=2))
    assert run_tool_calls(reply, [weigh])[0]["content"] == ("dict {'a': 1.0, 'b': 0.5}, float 2.0")


def odd_union(value: set[int] | int | None) -> str:
    return describe(value)


def no_union_arm_to_convert(value: set[int] | bytes) -> str:
    return describe(value)


def test_hand_written_specs_convert_what_they_can() -> None:
    any_value: dict[str, Any] = {"type": "object", "properties": {"value": {}}, "required": []}
    specs = [
        ToolSpec("unhashable", "", any_value, fn=unhashable_value),
        ToolSpec("odd_union", "", any_value, fn=odd_union),
        ToolSpec("broken", "", any_value, fn=with_broken_typeddict_value),
        ToolSpec("unresolved", "", any_value, fn=unresolved_value),
        ToolSpec("no_arm", "", any_value, fn=no_union_arm_to_convert),
    ]
    reply = make_reply(
        call("unhashable", "1", value=1),
        call("odd_union", "2", value=3.0),
        call("odd_union", "3", value="s"),
        call("broken", "4", value={"x": 1.0}),
        call("unresolved", "5", value=1.0),
        call("no_arm", "6", value=[1.0]),
    )
    assert [a["content"] for a in run_tool_calls(reply, specs)] == [
        "int 1",
        "int 3",
        "str 's'",
        "dict {'x': 1.0}",
        "float 1.0",
        "list [1.0]",
    ]


def unhashable_value(value: int) -> str:
    return describe(value)


unhashable_value.__annotations__["value"] = [int]


def with_broken_typeddict_value(value: Broken) -> str:
    return describe(value)


def unresolved_value(value: int) -> str:
    return describe(value)


unresolved_value.__annotations__["value"] = "Missing"


def test_hand_written_schemas_nested_objects_and_odd_branches() -> None:
    def show(closed: Any = None, either: Any = None) -> str:
        return describe(closed or either)

    closed = {
        "type": "object",
        "properties": {"k": {"type": "integer"}},
        "additionalProperties": False,
    }
    either = {"anyOf": [{"anyOf": [{"type": "integer"}, {"type": "null"}]}, {"required": ["k"]}]}
    spec = ToolSpec(
        "show",
        "",
        {"type": "object", "properties": {"closed": closed, "either": either}, "required": []},
        fn=show,
    )
    reply = make_reply(
        call("show", "1", closed={"k": 1, "j": 2}),
        call("show", "2", either={"j": 1}),
        call("show", "3", either="s"),
    )
    assert [a["content"] for a in run_tool_calls(reply, [spec])] == [
        "Error: invalid arguments for tool 'show': argument 'closed' has unexpected key 'j'",
        "Error: invalid arguments for tool 'show': argument 'either' should be integer or null "
        'or a value that fits its schema, got object {"j": 1}',
        "str 's'",
    ]


def scale(factor: float, limits: list[float] | None = None, cap: float | None = None) -> str:
    return describe(factor)


def test_a_number_too_big_for_a_float_is_told_to_the_model() -> None:
    huge = 10**400  # a model's JSON can hold it; a float can't
    shown = "got integer " + "1" + "0" * 56 + "..."
    reply = make_reply(
        call("scale", "1", factor=huge),
        call("scale", "2", factor=2, limits=[1, huge]),
        call("scale", "3", factor=2, cap=huge),
        call("scale", "4", factor=10**100),
    )
    too_big = "is a number out of range (a float holds at most about 1.8e308)"
    expected = [
        answer(
            "1",
            "scale",
            f"Error: invalid arguments for tool 'scale': argument 'factor' {too_big}, {shown}",
        ),
        answer(
            "2",
            "scale",
            f"Error: invalid arguments for tool 'scale': argument 'limits[1]' {too_big}, {shown}",
        ),
        answer(
            "3",
            "scale",
            f"Error: invalid arguments for tool 'scale': argument 'cap' {too_big}, {shown}",
        ),
        answer("4", "scale", "float 1e+100"),
    ]
    renamed = tool(tool(scale), name="scale")  # a spec made from a spec reads the same
    for tools in ([scale], [renamed]):
        assert run_tool_calls(reply, tools) == expected
        assert asyncio.run(arun_tool_calls(reply, tools)) == expected
    with pytest.raises(ToolCallError, match=r"^invalid arguments for tool 'scale': argument"):
        run_tool_calls(make_reply(call("scale", factor=huge)), [scale], raise_errors=True)


def test_a_hand_written_schema_passes_on_what_it_can_not_convert() -> None:
    number = {"type": "object", "properties": {"factor": {"type": "number"}}, "required": []}
    spec = ToolSpec("scale", "", number, fn=scale)
    reply = make_reply(call("scale", "1", factor=10**400), call("scale", "2", factor=3))
    assert [a["content"] for a in run_tool_calls(reply, [spec])] == [
        f"int {10**400}",
        "float 3.0",
    ]


def test_values_a_message_can_not_show_in_full() -> None:
    holds_itself: list[Any] = []
    holds_itself.append(holds_itself)
    reply = make_reply(call("add", a=holds_itself, b=1))
    assert run_tool_calls(reply, [add])[0]["content"] == (
        "Error: invalid arguments for tool 'add': argument 'a' should be integer, got array <list>"
    )


def pick(
    level: Literal[1, 2],
    when: Literal[Priority.LOW, "never"] = "never",
    maybe: Literal[1, 2] | None = None,
) -> str:
    return f"{describe(level)}, {describe(when)}"


def test_a_literal_gives_the_function_its_declared_value() -> None:
    reply = make_reply(call("pick", "1", level=2.0, when=1.0), call("pick", "2", level=1, maybe=3))
    assert [a["content"] for a in run_tool_calls(reply, [pick])] == [
        "int 2, Priority <Priority.LOW: 1>",
        "Error: invalid arguments for tool 'pick': argument 'maybe' should be one of 1, 2 "
        "or null, got integer 3",
    ]


def test_hand_written_schema_that_takes_anything_more() -> None:
    def echo(**values: Any) -> str:
        return describe(values)

    anything = {"type": "object", "properties": {"flag": True}, "additionalProperties": True}
    spec = ToolSpec("echo", "", anything, fn=echo)
    reply = make_reply(call("echo", flag=[1], other="x"))
    assert run_tool_calls(reply, [spec]) == [
        answer("call_1", "echo", "dict {'flag': [1], 'other': 'x'}")
    ]


def test_a_spec_reads_annotations_once_when_it_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = [tool(choose), tool(painted)]

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("annotations read again for a call")

    monkeypatch.setattr(_type_hints, "get_type_hints", refuse)
    monkeypatch.setattr(_json_schema, "get_type_hints", refuse)
    reply = make_reply(
        call("choose", "1", color="green", level=2, ratio=2, either=[1]),
        call("painted", "2", shape={"color": "red", "corners": [{"x": 1.0, "y": 2}]}),
    )
    assert [a["content"] for a in run_tool_calls(reply, specs)] == [
        "Color <Color.GREEN: 'green'>, Priority <Priority.HIGH: 2>, str 'other', float 2.0, "
        "int 0, list [1]",
        "dict {'color': <Color.RED: 'red'>, 'corners': ({'x': 1, 'y': 2},)}",
    ]


def test_a_spec_with_other_parameters_reads_by_them() -> None:
    made = tool(add)
    hand_written = {"type": "object", "properties": {"a": {}, "b": {}}, "required": ["a"]}
    replaced = dataclasses.replace(made, parameters=hand_written)
    reply = make_reply(call("add", a=1.0, b=2))
    assert run_tool_calls(reply, [replaced]) == [answer("call_1", "add", "3")]
    assert run_tool_calls(make_reply(call("add", a="x", b="y")), [replaced]) == [
        answer("call_1", "add", "xy")
    ]


def test_a_schema_edited_in_place_is_what_the_arguments_are_checked_against() -> None:
    def forecast(city: str, unit: str = "C") -> str:
        """Forecast."""
        return f"{city} {unit}"

    spec = ToolSpec.from_function(forecast)
    spec.parameters["properties"]["unit"]["enum"] = ["C", "F"]
    spec.parameters["required"].append("unit")
    reply = OrkesMessageSchema(
        role="assistant",
        content="",
        tool_calls=[ToolCall(id="c1", name="forecast", arguments={"city": "Oslo", "unit": "K"})],
    )
    (answer,) = run_tool_calls(reply, [spec])
    assert answer["content"] == (
        "Error: invalid arguments for tool 'forecast': argument 'unit' should be one of "
        '"C", "F", got string "K"'
    )
