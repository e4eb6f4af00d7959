"""The one error hierarchy of orkes.

Every failure a user can cause raises a subclass of :class:`OrkesError`. Each class
is also a subclass of the builtin that fits it, so ``except ValueError`` keeps
working for code that does not know orkes. Messages name the culprit and say what
would be right; the same facts are attributes (``.node``, ``.step``, ``.key``,
``.value``)::

    OrkesError
    ├── GraphDefinitionError (ValueError)       building the graph
    ├── GraphValidationError (ValueError)       compile(): every problem at once
    ├── StateError (KeyError)                   bad state or update
    ├── RoutingError (ValueError)               a gate returned the unknown
    ├── ConflictingUpdateError (ValueError)     parallel writes to a key with no reducer
    ├── StepLimitExceeded (RuntimeError)        max_steps / max_passes
    ├── NodeError (RuntimeError)                a node or gate raised; __cause__ kept
    ├── NodeTimeout (TimeoutError)              a node ran past its timeout=
    ├── RunStopped (RuntimeError)               a stream was closed before its run ended
    ├── RunInterrupted (RuntimeError)           run() paused for an answer; .result says how
    ├── CheckpointError (RuntimeError)          persistence failed: unreadable, missing …
    │   ├── CheckpointConflict                  another worker advanced the thread first
    │   └── SerializationError (TypeError)      a value the serializer does not know
    ├── ConnectorError (RuntimeError)           an LLM service failed
    │   ├── ConnectorTimeout (TimeoutError)     no answer in time
    │   ├── ConnectionFailed (ConnectionError)  could not reach the service
    │   ├── RateLimited                         429; ``.retry_after`` in seconds
    │   ├── AuthenticationError (PermissionError)  401 / 403
    │   ├── BadRequest (ValueError)             other 4xx: the request was wrong
    │   ├── ServiceError                        5xx after the retries ran out
    │   └── ResponseFormatError (ValueError)    the service answered in a shape we can't read
    ├── ToolDefinitionError (TypeError)         a tool's signature can't become a JSON schema
    └── ToolCallError (RuntimeError)            a tool call failed (with raise_errors=True)

Example:
    >>> from orkes.errors import OrkesError, RoutingError
    >>> issubclass(RoutingError, OrkesError) and issubclass(RoutingError, ValueError)
    True
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "CheckpointConflict",
    "CheckpointError",
    "ConflictingUpdateError",
    "ConnectionFailed",
    "ConnectorError",
    "ConnectorTimeout",
    "GraphDefinitionError",
    "GraphValidationError",
    "NodeError",
    "NodeTimeout",
    "OrkesError",
    "RateLimited",
    "ResponseFormatError",
    "RoutingError",
    "RunInterrupted",
    "RunStopped",
    "SerializationError",
    "ServiceError",
    "StateError",
    "StepLimitExceeded",
    "ToolCallError",
    "ToolDefinitionError",
]


class OrkesError(Exception):
    """Base of every error orkes raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # The attributes are keyword-only arguments: rebuild from args and __dict__, so
        # errors survive pickling (multiprocessing, task queues).
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(
    cls: type[OrkesError], args: tuple[object, ...], attributes: dict[str, object]
) -> OrkesError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(attributes)
    return error


class GraphDefinitionError(OrkesError, ValueError):
    """A builder call was wrong: a duplicate or reserved name, a non-callable, a frozen graph.

    Example:
        >>> from typing import TypedDict
        >>> from orkes import OrkesGraph
        >>> class S(TypedDict):
        ...     n: int
        >>> OrkesGraph(S).add_node("END", lambda s: None)
        Traceback (most recent call last):
        ...
        orkes.errors.GraphDefinitionError: node name 'END' is reserved ...
    """


class GraphValidationError(OrkesError, ValueError):
    """``compile()`` found problems; ``.problems`` lists every one of them."""

    def __init__(self, problems: Sequence[str], graph_name: str | None = None) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        self.graph_name = graph_name
        what = f"graph {graph_name!r}" if graph_name else "the graph"
        count = len(self.problems)
        heading = f"{what} has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n  - ".join([heading, *self.problems]))


class StateError(OrkesError, KeyError):
    """The input state or a node's update does not fit the state schema.

    Attributes:
        node: the node whose update was wrong, or ``None`` for the input state.
        key: the offending key, where one key is to blame.
    """

    def __init__(self, message: str, *, node: str | None = None, key: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.node = node
        self.key = key

    def __str__(self) -> str:
        # KeyError.__str__ would quote the whole message; show it plainly.
        return self.message


class RoutingError(OrkesError, ValueError):
    """A gate returned a value that its mapping does not know (and there was no default)."""

    def __init__(
        self, message: str, *, node: str, value: object, known: Sequence[Hashable] = ()
    ) -> None:
        super().__init__(message)
        self.node = node
        self.value = value
        self.known: tuple[Hashable, ...] = tuple(known)


class ConflictingUpdateError(OrkesError, ValueError):
    """Two parallel tasks wrote one key that has no reducer, in the same superstep."""

    def __init__(self, message: str, *, key: str, nodes: Sequence[str], step: int) -> None:
        super().__init__(message)
        self.key = key
        self.nodes: tuple[str, ...] = tuple(nodes)
        self.step = step


class StepLimitExceeded(OrkesError, RuntimeError):
    """A run went past ``max_steps``, or an edge past its ``max_passes``.

    Attributes:
        limit: the limit that was reached.
        step: the superstep that would have gone past it.
        node: the node about to run (``max_steps``) or the source of the edge (``max_passes``).
        edge: a description of the edge for ``max_passes``, else ``None``.
    """

    def __init__(
        self, message: str, *, limit: int, step: int, node: str | None, edge: str | None = None
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.step = step
        self.node = node
        self.edge = edge


class NodeError(OrkesError, RuntimeError):
    """A node (or a gate) raised; the original exception is ``__cause__``.

    Attributes:
        node: the node's name; inside subgraphs, the whole path (``'outer > search'``).
        step: the superstep it failed in.
        run_id: the id of the run it failed in.
        attempts: how many times it was called (more than 1 under a ``RetryPolicy``).
    """

    def __init__(
        self, message: str, *, node: str, step: int, run_id: str, attempts: int = 1
    ) -> None:
        super().__init__(message)
        self.node = node
        self.step = step
        self.run_id = run_id
        self.attempts = attempts


class NodeTimeout(OrkesError, TimeoutError):
    """A node ran longer than its ``timeout=``; a sync node's late result is discarded.

    Attributes:
        node: the node's name.
        seconds: the timeout it ran past.
    """

    def __init__(self, message: str, *, node: str, seconds: float) -> None:
        super().__init__(message)
        self.node = node
        self.seconds = seconds


class RunStopped(OrkesError, RuntimeError):
    """A stream was closed (or broken out of) before its run ended: there is no final state."""


class RunInterrupted(OrkesError, RuntimeError):
    """``run`` paused for an answer (``ctx.interrupt``) instead of reaching END.

    ``.result`` is the ``RunResult`` (its ``interrupts`` say what was asked);
    ``runner.resume(thread_id, answer)`` goes on. ``invoke`` returns the pause instead.
    """

    def __init__(self, message: str, *, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class CheckpointError(OrkesError, RuntimeError):
    """Persistence failed: stored data that can't be read, a thread or checkpoint missing."""


class CheckpointConflict(CheckpointError):
    """Two workers advanced one thread at once: this one lost, and wrote nothing."""


class SerializationError(CheckpointError, TypeError):
    """A value the checkpoint serializer can't store; the message names key, node and type.

    Attributes:
        key: the state key holding the value, where it is a state value.
        node: the node that wrote it (``None`` for a run's input, or several writers).
        type_name: the refused type, ``"module.QualName"`` (``""`` if it nests too deep).
        at: where in the value it sits, as Python would index it (``['docs'][2].owner``).
        thread_id: the thread it was to be stored in (``None`` outside a checkpoint).
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        node: str | None = None,
        type_name: str = "",
        at: str = "",
    ) -> None:
        super().__init__(message)
        self.key = key
        self.node = node
        self.type_name = type_name
        self.at = at
        self.thread_id: str | None = None


class ConnectorError(OrkesError, RuntimeError):
    """An LLM service failed.

    Attributes:
        status: the HTTP status, where there was a response.
        service_message: the service's own error message, where it gave one.
    """

    def __init__(
        self, message: str, *, status: int | None = None, service_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.service_message = service_message


class ConnectorTimeout(ConnectorError, TimeoutError):
    """The service did not answer within the connector's timeout."""


class ConnectionFailed(ConnectorError, ConnectionError):
    """The service could not be reached (refused, reset, DNS), after the retries ran out."""


class RateLimited(ConnectorError):
    """The service answered 429 after the retries ran out; ``.retry_after`` is its hint."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        service_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, service_message=service_message)
        self.retry_after = retry_after


class AuthenticationError(ConnectorError, PermissionError):
    """The service refused the credentials (401 or 403)."""


class BadRequest(ConnectorError, ValueError):
    """The service rejected the request (a 4xx other than 401, 403 and 429)."""


class ServiceError(ConnectorError):
    """The service failed (5xx) and kept failing through the retries."""


class ResponseFormatError(ConnectorError, ValueError):
    """The service answered, but not in the documented shape."""


class ToolDefinitionError(OrkesError, TypeError):
    """A Python function can't be described as a tool (e.g. an unsupported annotation)."""


class ToolCallError(OrkesError, RuntimeError):
    """A tool call could not be answered: unknown tool, bad arguments, or the tool raised.

    Raised by ``run_tool_calls`` and ``arun_tool_calls`` with ``raise_errors=True``
    (without it, the same text goes back to the model as the call's answer). When the tool
    itself raised, its exception is ``__cause__``.

    Attributes:
        tool: the name of the tool the model asked for.
        call_id: the ``id`` of the tool call.

    Example:
        >>> error = ToolCallError("unknown tool 'mul'", tool="mul", call_id="call_1")
        >>> isinstance(error, RuntimeError), error.tool, error.call_id
        (True, 'mul', 'call_1')
    """

    def __init__(self, message: str, *, tool: str, call_id: str) -> None:
        super().__init__(message)
        self.tool = tool
        self.call_id = call_id
