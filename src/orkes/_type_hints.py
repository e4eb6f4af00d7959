"""A function's type hints, with names resolved the way the function's own frame would.

Tools read their parameters' hints through it; the graph builder reads nodes' and gates'
return hints (``-> Command[Literal[...]]``, ``-> Literal[...]``) through it too.

``typing.get_type_hints`` looks the names of string annotations up in the function's
module only. A tool defined inside another function, under ``from __future__ import
annotations``, may name that function's locals (a ``from typing import Literal`` inside
it), which the module does not have, or which shadow the module's. For such a nested
function, :func:`resolve_type_hints` looks first where its own frame would: the enclosing
function's locals (its closure, and the enclosing frame itself while it runs, that is
when ``tool(fn)`` is called inside it), over the module's globals; then in the locals of
every other function running when the tool is made, innermost first.

Example:
    >>> Choice = str
    >>> def make_tool():
    ...     from typing import Literal
    ...     Choice = Literal["a", "b"]  # shadows the module's Choice
    ...     def pick(x: "Choice", y: "Literal['c']") -> str:
    ...         return x
    ...     return resolve_type_hints(pick, function_name="pick", tool_name="pick")
    >>> make_tool()
    {'x': typing.Literal['a', 'b'], 'y': typing.Literal['c'], 'return': <class 'str'>}
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Mapping
from types import FrameType
from typing import Any, get_type_hints

from orkes.errors import ToolDefinitionError

__all__ = ["resolve_return_hint", "resolve_type_hints"]

# orkes' own files: their frames' locals are never the names a user's annotation means.
# (String slicing, not os.path: the planner's modules import nothing that does I/O.)
_OWN_DIRECTORY = __file__[: max(__file__.rfind("/"), __file__.rfind("\\")) + 1]


class _Annotations:
    """Holds one annotation, so that ``get_type_hints`` resolves it alone."""

    def __init__(self, annotations: dict[str, Any]) -> None:
        self.__annotations__ = annotations


def resolve_type_hints(
    annotated: object, *, function_name: str, tool_name: str, strict: bool = True
) -> dict[str, Any]:
    """The hints of ``annotated`` (a function, method or class), as ``get_type_hints`` gives.

    For a function defined inside another, names are looked for in the enclosing
    function's locals first, then in the module; a name neither has, in the locals of
    the calling frames (merged over the module's globals), innermost first. An
    annotation of the return value that can't be resolved is left out: a tool's schema
    needs none. With ``strict=False`` every annotation that can't be resolved is left out
    instead of raising.

    Raises:
        ToolDefinitionError: with ``strict``, a parameter's annotation names what is
            nowhere to be found (the message names the tool, the parameter and the name),
            or can't be evaluated.
    """
    function = _function_of(annotated)
    nested = "<locals>" in getattr(function, "__qualname__", "")
    if not nested:  # the common case: the module has every name
        try:
            return get_type_hints(annotated, include_extras=True)
        except NameError:
            pass  # a name from where the tool is made: look there
        except Exception as exc:
            if not strict:
                return {}
            raise ToolDefinitionError(
                f"can't resolve the annotations of function {function_name!r}: "
                f"{type(exc).__name__}: {exc}; every name used in them must be importable "
                "where the function is defined"
            ) from exc
    closure = _closure_names(function)
    code = getattr(function, "__code__", None)
    # The enclosing function's own frame first (if it runs), then the closure alone, then
    # the other frames: their locals, as they are now, over the module's globals.
    stack = _outside_frames()
    places = [
        *(frame for frame in stack if _defines(frame, code)),
        None,
        *(frame for frame in stack if not _defines(frame, code)),
    ]
    namespaces: list[dict[str, Any]] = []
    try:
        for frame in places:
            if frame is None and not nested:
                continue  # no closure: the module alone failed already
            namespace = closure if frame is None else {**frame.f_locals, **closure}
            namespaces.append(namespace)
            try:
                return get_type_hints(annotated, localns=namespace, include_extras=True)
            except Exception:  # NameError, or a name that means something else there
                continue
    finally:
        del stack, places  # frames kept here would keep their locals alive
    # No one place has every name: resolve each annotation on its own, and say which fails.
    everywhere: dict[str, Any] = {}
    for namespace in reversed(namespaces):  # the first places win over the later ones
        everywhere.update(namespace)
    globalns = _globals_of(annotated)
    hints: dict[str, Any] = {}
    failure: Exception = NameError()
    for name, annotation in _own_annotations(annotated).items():
        single = _Annotations({name: annotation})
        for namespace in [*namespaces, everywhere]:
            try:
                hints[name] = get_type_hints(single, globalns, namespace, include_extras=True)[name]
                break
            except Exception as exc:
                failure = exc
        else:
            if strict and name != "return":
                raise _unresolved(failure, name, function_name, tool_name) from failure
    return hints


def resolve_return_hint(fn: object) -> object:
    """``fn``'s return annotation, resolved as :func:`resolve_type_hints` does.

    ``fn`` is a function, a method, or an object whose ``__call__`` is annotated.

    Raises:
        NameError: a name the annotation uses is nowhere to be found (the module, the
            closure, the functions running now); any other failure to evaluate it too.
    """
    target: Any = fn if inspect.isroutine(fn) else getattr(type(fn), "__call__", None)  # noqa: B004
    holder = _Annotations({"return": _own_annotations(target).get("return")})
    try:
        return get_type_hints(holder, _globals_of(target), include_extras=True)["return"]
    except Exception as exc:
        failure = exc
    name = getattr(target, "__name__", "function")
    hints = resolve_type_hints(target, function_name=name, tool_name=name, strict=False)
    if "return" in hints:
        return hints["return"]
    raise NameError(f"{type(failure).__name__}: {failure}") from failure


def _unresolved(
    failure: Exception, parameter: str, function_name: str, tool_name: str
) -> ToolDefinitionError:
    where = f"the annotation of parameter {parameter!r} of tool {tool_name!r}"
    missing = getattr(failure, "name", None) if isinstance(failure, NameError) else None
    if not isinstance(missing, str):
        return ToolDefinitionError(
            f"can't resolve {where}: {type(failure).__name__}: {failure}; every name used in "
            "it must be importable where the function is defined"
        )
    return ToolDefinitionError(
        f"can't resolve {where}: name {missing!r} is not defined in the module of function "
        f"{function_name!r}, in its closure, or in the functions running when the tool was "
        f"made; import {missing!r} at module level, or make the tool (tool({function_name})) "
        "inside the function that imports it"
    )


def _function_of(annotated: object) -> Any:
    """The plain function behind a method or a decorated function (``annotated`` else)."""
    function: Any = getattr(annotated, "__func__", annotated)
    with contextlib.suppress(ValueError):  # a cycle of __wrapped__
        function = inspect.unwrap(function)
    return function


def _closure_names(function: object) -> dict[str, Any]:
    """The enclosing function's variables that ``function``'s body uses, by name."""
    code = getattr(function, "__code__", None)
    cells = getattr(function, "__closure__", None)
    if code is None or not cells:
        return {}
    names: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, cells, strict=False):
        try:
            names[name] = cell.cell_contents
        except ValueError:  # an empty cell: the variable is not assigned yet
            continue
    return names


def _outside_frames() -> list[FrameType]:
    """The frames on the stack, innermost first, but those of orkes' own modules.

    Their locals are never the names a user's annotation means.
    """
    frames: list[FrameType] = []
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if not frame.f_code.co_filename.startswith(_OWN_DIRECTORY):
            frames.append(frame)
        frame = frame.f_back
    return frames


def _defines(frame: FrameType, code: object) -> bool:
    """Whether ``frame`` runs the function that defines ``code`` (one of its constants)."""
    return code is not None and any(const is code for const in frame.f_code.co_consts)


def _globals_of(annotated: object) -> dict[str, Any]:
    """Where ``get_type_hints`` looks names up first: the function's (or class's) module."""
    if isinstance(annotated, type):
        module = sys.modules.get(annotated.__module__)
        return dict(vars(module)) if module is not None else {}
    while hasattr(annotated, "__wrapped__"):
        annotated = annotated.__wrapped__
    found = getattr(annotated, "__globals__", {})
    return found if isinstance(found, dict) else {}


def _own_annotations(annotated: object) -> dict[str, Any]:
    found = getattr(annotated, "__annotations__", None)
    return dict(found) if isinstance(found, Mapping) else {}
