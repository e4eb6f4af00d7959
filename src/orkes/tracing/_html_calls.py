"""The inspector's parts of a task: its state diff, its LLM calls, an error.

Each function returns markup in which every string of the run went through
:func:`~orkes.tracing._html_text.esc`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from orkes.tracing._html_text import TIMES, duration, esc, pre, pretty
from orkes.tracing.records import ErrorRecord, LLMCall

__all__ = ["call_html", "diff_html", "error_html", "tokens"]

_IN = ("input_tokens", "prompt_tokens", "promptTokenCount")
_OUT = ("output_tokens", "completion_tokens", "candidatesTokenCount")


def diff_html(input_keys: tuple[str, ...], update: Mapping[str, Any] | None) -> str:
    """What a task read, and what it wrote as a diff of the state it was given.

    ``+`` marks a key the task's input did not hold, ``~`` one it held (its value
    replaced, or merged by the key's reducer); the value shown is what the task wrote.
    """
    read = "".join(f"<code>{esc(key)}</code>" for key in input_keys)
    read = read or '<span class="none">nothing</span>'
    parts = [
        '<div class="label">reads</div>',
        f'<div class="keys">{read}</div>',
        '<div class="label">writes</div>',
    ]
    if update is None:
        parts.append('<p class="none">no update</p>')
    elif not update:
        parts.append('<p class="none">nothing (an empty update)</p>')
    else:
        given = set(input_keys)
        rows = [
            f'<tr class="{"changed" if key in given else "added"}" data-key="{esc(key)}">'
            f'<td class="sign">{"~" if key in given else "+"}</td>'
            f'<td class="key"><span>{esc(key)}</span></td><td>{pre(pretty(value))}</td></tr>'
            for key, value in update.items()
        ]
        parts.append(f'<table class="diff">{"".join(rows)}</table>')
    return "".join(parts)


def error_html(error: ErrorRecord, *, open_: bool = False) -> str:
    """An error: its type and message, and its traceback when opened."""
    opened = " open" if open_ else ""
    return (
        f'<details class="error"{opened}><summary>{esc(error.type)}: {esc(error.message)}'
        f"</summary>{pre(error.traceback, 'traceback')}</details>"
    )


def tokens(usage: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """``(in, out)`` tokens of a call's usage, under any of the services' names."""
    if not usage:
        return None
    found = [
        next((value for key in names if isinstance(value := usage.get(key), int)), None)
        for names in (_IN, _OUT)
    ]
    if found[0] is None and found[1] is None:
        return None
    return found[0] or 0, found[1] or 0


def call_html(call: LLMCall, number: int) -> str:
    """One LLM call: a summary line, then messages, reply, tool calls, usage, details."""
    head = [
        f'<span class="badge">call {number}</span>',
        f"<b>{esc(call.connector)}</b>",
    ]
    if call.model is not None:
        head.append(f"<code>{esc(call.model)}</code>")
    head.append(f'<span class="dur">{duration(call.seconds)}</span>')
    counted = tokens(call.usage)
    if counted is not None:
        head.append(f'<span class="badge">{counted[0]:,} → {counted[1]:,} tokens</span>')
    if call.tool_calls:
        many = len(call.tool_calls)
        head.append(f'<span class="badge">{many} tool call{"" if many == 1 else "s"}</span>')
    if call.retries:
        head.append(f'<span class="badge pause">retried {call.retries}{TIMES}</span>')
    if call.error is not None:
        head.append('<span class="badge fail">failed</span>')
    body = "".join(_call_body(call))
    return (
        f'<details class="call"><summary>{"".join(head)}</summary>'
        f'<div class="call-body">{body}</div></details>'
    )


def _call_body(call: LLMCall) -> Iterator[str]:
    yield '<div class="label">messages</div>'
    if isinstance(call.messages, list):
        yield from (_message(message, "") for message in call.messages)
    else:
        yield pre(pretty(call.messages))
    yield '<div class="label">reply</div>'
    if call.reply is None:
        yield '<p class="none">no reply</p>'
    else:
        yield _message(call.reply, " reply")
    for number, tool_call in enumerate(call.tool_calls, 1):
        yield _tool_call(tool_call, number)
    if call.error is not None:
        yield error_html(call.error, open_=True)
    facts: list[tuple[str, Any]] = [
        ("latency", duration(call.seconds)),
        ("usage", call.usage),
        ("retries", call.retries or None),
        ("tools offered", ", ".join(call.tools) or None),
        ("params", call.params or None),
        ("endpoint", call.endpoint),
        ("headers", call.headers or None),
    ]
    rows = [
        f"<tr><th>{esc(name)}</th><td>{_fact(value)}</td></tr>"
        for name, value in facts
        if value is not None
    ]
    yield f'<table class="kv">{"".join(rows)}</table>'


def _fact(value: Any) -> str:
    return esc(value) if isinstance(value, str) else pre(pretty(value))


def _message(message: Any, kind: str) -> str:
    if not isinstance(message, dict):
        return f'<div class="msg{kind}">{pre(pretty(message))}</div>'
    role = message.get("role")
    role_text = role if isinstance(role, str) else "message"
    content = message.get("content")
    text = content if isinstance(content, str) else pretty(content)
    rest = {
        key: value
        for key, value in message.items()
        if key not in ("role", "content", "tool_calls", "metadata")
    }
    extra = pre(pretty(rest), "meta") if rest else ""
    if "tool_calls" in message and not kind:  # a reply's are shown on their own
        extra += pre(pretty(message["tool_calls"]))
    css_role = "".join(ch for ch in role_text if ch.isalnum())
    return (
        f'<div class="msg{kind} role-{esc(css_role)}"><span class="role">{esc(role_text)}</span>'
        f"{pre(text)}{extra}</div>"
    )


def _tool_call(tool_call: Any, number: int) -> str:
    if not isinstance(tool_call, dict):
        return f'<div class="tool-call">{pre(pretty(tool_call))}</div>'
    name = tool_call.get("name")
    if name is None and isinstance(tool_call.get("function"), dict):  # OpenAI's own shape
        name = tool_call["function"].get("name")
    arguments = tool_call.get("arguments", tool_call.get("function"))
    ident = tool_call.get("id")
    label = f" <code>{esc(ident)}</code>" if ident is not None else ""
    return (
        f'<div class="tool-call"><span class="badge gate">tool call {number}</span> '
        f"<b>{esc(name if name is not None else '?')}</b>{label}{pre(pretty(arguments))}</div>"
    )
