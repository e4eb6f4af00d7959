"""The public face: ``orkes.__all__`` pinned, the seed's deep paths, docstrings everywhere."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from types import ModuleType

import pytest

import orkes

PUBLIC_NAMES = [
    "END",
    "START",
    "AsyncRunStream",
    "CachePolicy",
    "Command",
    "CompiledGraph",
    "EchoLlmConnector",
    "GraphRunner",
    "LLMConnector",
    "OrkesGraph",
    "OrkesMessageSchema",
    "RetryPolicy",
    "RunContext",
    "RunResult",
    "RunStream",
    "Send",
    "Snapshot",
    "ToolCall",
    "Tracer",
    "__version__",
    "add_messages",
    "errors",
    "events",
]


def test_all_is_pinned() -> None:
    assert orkes.__all__ == PUBLIC_NAMES


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_every_public_name_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from orkes import {name}", namespace)
    assert namespace[name] is getattr(orkes, name)


def test_the_version_is_a_string() -> None:
    assert isinstance(orkes.__version__, str)
    assert orkes.__version__.count(".") >= 2
    # 0.1.x releases of this name exist on the package index: an upgrade must never
    # swap this library for one of them.
    assert tuple(map(int, orkes.__version__.split(".")[:2])) >= (0, 2)


def test_the_seeds_deep_paths() -> None:
    from orkes.connectors import EchoLlmConnector
    from orkes.graph.core import OrkesGraph
    from orkes.graph.reducers import add_messages
    from orkes.graph.runner import GraphRunner
    from orkes.shared.schema import LLMConnector, OrkesMessageSchema

    assert OrkesGraph is orkes.OrkesGraph
    assert GraphRunner is orkes.GraphRunner
    assert OrkesMessageSchema is orkes.OrkesMessageSchema
    assert LLMConnector is orkes.LLMConnector
    assert EchoLlmConnector is orkes.EchoLlmConnector
    assert add_messages is orkes.add_messages


def test_errors_module_is_exported() -> None:
    import orkes.errors

    assert orkes.errors is orkes.__dict__["errors"]
    assert orkes.errors.OrkesError.__name__ == "OrkesError"


def test_the_public_face_defines_nothing_itself() -> None:
    for name in PUBLIC_NAMES:
        value = getattr(orkes, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__ != "orkes", name


def all_modules() -> list[ModuleType]:
    modules = [orkes]
    for info in pkgutil.walk_packages(orkes.__path__, prefix="orkes."):
        modules.append(importlib.import_module(info.name))
    return modules


def is_public(qualified_name: str) -> bool:
    return not any(part.startswith("_") for part in qualified_name.split("."))


@pytest.mark.parametrize("module", all_modules(), ids=lambda module: module.__name__)
def test_every_module_has_a_docstring(module: ModuleType) -> None:
    assert module.__doc__
    assert module.__doc__.strip()


@pytest.mark.parametrize(
    "module",
    [m for m in all_modules() if is_public(m.__name__)],
    ids=lambda module: module.__name__,
)
def test_every_public_name_and_method_has_a_docstring(module: ModuleType) -> None:
    exported = getattr(module, "__all__", None)
    if exported is None:  # a package that only groups modules re-exports nothing
        assert hasattr(module, "__path__"), f"{module.__name__} has no __all__"
        exported = []
    missing: list[str] = []
    for name in exported:
        value = getattr(module, name)
        if typing.get_origin(value) is not None:  # a type alias (a class to 3.10's inspect)
            continue
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        if not (value.__doc__ or "").strip():
            missing.append(f"{module.__name__}.{name}")
        if inspect.isclass(value) and value.__module__ == module.__name__:
            for attribute, member in vars(value).items():
                if attribute.startswith("_") or not callable(member):
                    continue
                function = inspect.unwrap(member)
                if not (getattr(function, "__doc__", None) or "").strip():
                    missing.append(f"{module.__name__}.{name}.{attribute}")
    assert missing == []


def test_importing_orkes_loads_no_http_connector_until_one_is_asked_for() -> None:
    import subprocess
    import sys

    code = (
        "import sys, orkes\n"
        "print('http.client' in sys.modules, 'orkes.connectors.openai' in sys.modules)\n"
        "from orkes.connectors import OpenAIConnector, tool\n"
        "print('http.client' in sys.modules, OpenAIConnector.__module__, tool.__module__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        "False False",
        "True orkes.connectors.openai orkes.connectors.tools",
    ]


def test_an_unknown_connector_name_is_an_attribute_error() -> None:
    import orkes.connectors

    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        orkes.connectors.Nope  # noqa: B018


def test_tracing_loads_when_tracer_is_first_asked_for() -> None:
    import subprocess
    import sys

    code = (
        "import sys, orkes\n"
        "print('orkes.tracing' in sys.modules)\n"
        "from orkes import Tracer\n"
        "print('orkes.tracing' in sys.modules, Tracer.__module__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["False", "True orkes.tracing.tracer"]
