"""What a trace never holds: secrets, found by the names they hide under and their look.

A :class:`Redact` says what to hide; a tracer applies it to everything it keeps, before
it keeps it: state, updates, gate answers, LLM messages, parameters and headers, error
messages and tracebacks.

* **Keys.** A mapping key (a state key, a header name, a parameter) that matches one of
  :attr:`Redact.keys` — glob patterns, case-insensitive — has its value replaced by
  ``"[redacted]"``, whatever the value is: ``api_key``, ``Authorization``,
  ``x-api-key``, ``access_token``, ``client_secret``, ``password``.
* **Token counts are not tokens.** A key that also matches :attr:`Redact.allow` is
  kept: names that end in ``tokens``, ``tokens_details``, ``token_count`` or
  ``tokencount`` (any case, ``promptTokensDetails`` too) count tokens
  (``prompt_tokens``, ``total_tokens``, ``max_tokens``, ``promptTokenCount``), and a
  ``tokenizer`` is a name. ``token``, ``access_token``
  and ``HF_TOKEN`` are secrets.
* **Values.** Any part of a string that matches one of :attr:`Redact.values` (regular
  expressions) is replaced by ``"[redacted]"``: OpenAI and Anthropic keys (``sk-…``),
  Google API keys (``AIza…``), ``Bearer …`` credentials.
* **Known secrets.** The exact strings of :attr:`Redact.secrets`, and every API key a
  shipped connector (or a connector wrapped in ``traced()``) holds, wherever they appear.

Example:
    >>> from orkes.tracing import Redact, Tracer
    >>> rules = Redact(keys=(*Redact.DEFAULT_KEYS, "ssn"), secrets=("hunter2",))
    >>> tracer = Tracer(redact=rules)
    >>> tracer.redact.keys[-1]
    'ssn'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from orkes.errors import GraphDefinitionError

__all__ = ["REDACTED", "Redact"]

REDACTED = "[redacted]"
"""What stands in a trace where a secret was."""


@dataclass(frozen=True)
class Redact:
    """The rules of what a tracer hides (see the module's docs).

    Args:
        keys: glob patterns (``*`` and ``?``) of mapping keys whose values are hidden.
        allow: glob patterns of keys that match ``keys`` but hold no secret (token
            counts): kept.
        values: regular expressions of secrets inside strings.
        secrets: exact strings to hide wherever they appear (at least 4 characters).

    Raises:
        GraphDefinitionError: a pattern that is not a string, or a regular expression
            that does not compile, or a secret shorter than 4 characters.
    """

    DEFAULT_KEYS: ClassVar[tuple[str, ...]] = (
        "*token*",
        "*secret*",
        "*password*",
        "*passwd*",
        "*api_key*",
        "*api-key*",
        "*apikey*",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    )
    DEFAULT_ALLOW: ClassVar[tuple[str, ...]] = (
        "*tokens",
        "*tokens_details",
        "*tokensdetails",
        "*token_count",
        "*tokencount",
        "*tokenizer*",
    )
    DEFAULT_VALUES: ClassVar[tuple[str, ...]] = (
        r"\bsk-[A-Za-z0-9_\-]{8,}",
        r"\bAIza[0-9A-Za-z_\-]{20,}",
        r"\b(?i:bearer)\s+[A-Za-z0-9_\-.~+/]{8,}=*",
    )

    keys: tuple[str, ...] = DEFAULT_KEYS
    allow: tuple[str, ...] = DEFAULT_ALLOW
    values: tuple[str, ...] = DEFAULT_VALUES
    secrets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("keys", "allow", "values", "secrets"):
            given = getattr(self, name)
            if isinstance(given, str) or not all(isinstance(p, str) for p in given):
                raise GraphDefinitionError(
                    f"Redact({name}=...) takes a tuple of strings, got {given!r}"
                )
            object.__setattr__(self, name, tuple(given))
        for pattern in self.values:
            try:
                re.compile(f"(?:{pattern})")  # as the tracer joins them
            except re.error as exc:
                raise GraphDefinitionError(
                    f"Redact(values=...): {pattern!r} is not a regular expression that can be "
                    f"joined with others ({exc}); use scoped flags such as (?i:...), and "
                    "re.escape() to hide an exact text"
                ) from None
        short = [secret for secret in self.secrets if len(secret) < 4]
        if short:
            raise GraphDefinitionError(
                f"Redact(secrets=...): {short[0]!r} is too short to hide safely (it would "
                "blank out ordinary text); give secrets of at least 4 characters"
            )

    def hides_key(self, key: str) -> bool:
        """Whether a mapping key's value is hidden.

        Example:
            >>> rules = Redact()
            >>> rules.hides_key("x-api-key"), rules.hides_key("prompt_tokens")
            (True, False)
        """
        return matcher(self.keys).fullmatch(key) is not None and (
            matcher(self.allow).fullmatch(key) is None
        )


def matcher(globs: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any of the glob patterns ``globs``."""
    parts = [re.escape(glob).replace(r"\*", ".*").replace(r"\?", ".") for glob in globs]
    return re.compile("|".join(f"(?:{part})" for part in parts) or "(?!)", re.IGNORECASE)
