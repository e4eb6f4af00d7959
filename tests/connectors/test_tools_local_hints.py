"""Tools defined inside functions, with string annotations naming the enclosing locals.

This module has ``from __future__ import annotations``: every annotation below is a
string, and a name imported or defined inside a function is not in the module's globals.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, get_args

import pytest

from orkes.connectors.openai import OpenAIConnector
from orkes.connectors.tools import ToolSpec, as_tool_specs, run_tool_calls, tool
from orkes.errors import ToolDefinitionError
from orkes.shared.schema import OrkesMessageSchema
from tests.connectors.loopback import LoopbackServer, json_response
from tests.connectors.openai_wire import completion

Level = str  # shadowed by a local Level below: the local one must win


def reply_calling(name: str, **arguments: Any) -> OrkesMessageSchema:
    call = {"id": "call_1", "name": name, "arguments": arguments}
    return {"role": "assistant", "content": "", "tool_calls": [call]}  # type: ignore[list-item]


def make_pick() -> ToolSpec:
    from typing import Literal

    def pick(x: Literal["a", "b"]) -> str:
        """Pick one."""
        return f"picked {x}"

    return tool(pick)


def test_a_name_imported_in_the_enclosing_function_is_resolved() -> None:
    pick = make_pick()
    assert pick.parameters == {
        "type": "object",
        "properties": {"x": {"type": "string", "enum": ["a", "b"]}},
        "required": ["x"],
    }
    [answer] = run_tool_calls(reply_calling("pick", x="b"), [pick])
    assert answer["content"] == "picked b"
    [refused] = run_tool_calls(reply_calling("pick", x="c"), [pick])
    assert refused["content"].startswith("Error: invalid arguments for tool 'pick'")


def test_the_decorator_forms_and_a_class_defined_in_the_function() -> None:
    from typing import Annotated

    class Size(enum.Enum):
        S = "S"
        L = "L"

    @tool
    def order(size: Size, note: Annotated[str, "For the kitchen."] = "") -> str:
        return f"{size!r} {note}"

    @tool(name="reorder", description="Order again.")
    def again(size: Size) -> str:
        return repr(size)

    assert order.parameters["properties"] == {
        "size": {"type": "string", "enum": ["S", "L"]},
        "note": {"type": "string", "description": "For the kitchen.", "default": ""},
    }
    assert again.name == "reorder"
    assert again.parameters["properties"] == {"size": {"type": "string", "enum": ["S", "L"]}}
    # The reader converts with the local class too: the function gets a Size.
    [answer] = run_tool_calls(reply_calling("reorder", size="L"), [again])
    assert answer["content"] == "<Size.L: 'L'>"


def test_a_local_name_wins_over_the_module_name_it_shadows() -> None:
    from typing import Literal

    Level = Literal[1, 2]  # noqa: F841 - used by an annotation; shadows the module's Level

    def climb(level: Level) -> str:
        return str(level)

    assert tool(climb).parameters["properties"] == {"level": {"type": "integer", "enum": [1, 2]}}


def make_convert() -> Any:
    from typing import Literal

    Unit = Literal["cm", "in"]

    def convert(value: float, unit: Unit) -> str:
        assert unit in get_args(Unit)  # the body uses Unit: it is in the closure
        return f"{value} {unit}"

    return convert  # the tool is made later, after this function has returned


def test_a_name_in_the_closure_is_resolved_after_the_enclosing_function_returned() -> None:
    convert = tool(make_convert())
    assert convert.parameters["properties"]["unit"] == {"type": "string", "enum": ["cm", "in"]}


def make_unresolvable() -> Any:
    from typing import Literal

    def choose(first: int, second: Literal["x", "y"]) -> str:
        return "never called"

    return choose  # Literal is not in the closure: the body does not use it


def test_a_name_found_nowhere_is_an_error_naming_the_tool_the_parameter_and_the_name() -> None:
    choose = make_unresolvable()
    with pytest.raises(ToolDefinitionError) as caught:
        tool(choose, name="chooser")
    assert str(caught.value) == (
        "can't resolve the annotation of parameter 'second' of tool 'chooser': name 'Literal' "
        "is not defined in the module of function 'choose', in its closure, or in the "
        "functions running when the tool was made; import 'Literal' at module level, or make "
        "the tool (tool(choose)) inside the function that imports it"
    )
    assert isinstance(caught.value.__cause__, NameError)
    with pytest.raises(ToolDefinitionError, match=r"parameter 'second' of tool 'choose':"):
        ToolSpec.from_function(choose)


def test_the_tool_may_be_made_by_a_helper_the_enclosing_function_calls() -> None:
    from typing import Literal

    def pick(x: Literal["a", "b"]) -> str:
        return x

    def make(fn: Callable[..., Any]) -> ToolSpec:
        return tool(fn)

    assert make(pick).parameters["properties"]["x"]["enum"] == ["a", "b"]
    assert [spec.name for spec in as_tool_specs([pick])] == ["pick"]


def make_in_a_callee() -> ToolSpec:
    class Shade(enum.Enum):  # found by looking up the calling frames
        DARK = "dark"
        LIGHT = "light"

    return make_deeper()


def make_deeper() -> ToolSpec:
    def paint(shade: Shade) -> str:  # type: ignore[name-defined]  # noqa: F821
        return str(shade)

    return tool(paint)


def test_a_name_the_enclosing_function_lacks_is_looked_for_up_the_stack() -> None:
    assert make_in_a_callee().parameters["properties"] == {
        "shade": {"type": "string", "enum": ["dark", "light"]}
    }


def test_a_method_of_a_class_defined_in_the_function() -> None:
    from typing import Literal

    class Picker:
        def pick(self, x: Literal["a", "b"]) -> str:
            return x

    assert tool(Picker().pick).parameters["properties"] == {
        "x": {"type": "string", "enum": ["a", "b"]}
    }


def test_a_return_annotation_that_names_nothing_is_not_needed() -> None:
    def ping(host: str) -> Unknown:  # type: ignore[name-defined]  # noqa: F821
        return host

    assert tool(ping).parameters["properties"] == {"host": {"type": "string"}}


def test_a_connector_given_the_function_sends_its_schema(
    openai: OpenAIConnector, loopback: LoopbackServer
) -> None:
    from typing import Literal

    def pick(x: Literal["a", "b"]) -> str:
        """Pick one."""
        return x

    loopback.enqueue(json_response(completion()))
    openai.invoke([{"role": "user", "content": "Pick"}], tools=[pick])
    [sent] = loopback.requests[0].json()["tools"]
    assert sent["function"]["parameters"]["properties"] == {
        "x": {"type": "string", "enum": ["a", "b"]}
    }
