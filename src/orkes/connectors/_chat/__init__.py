"""The chat-API layer: what every HTTP connector shares above the transport.

:mod:`.connector` holds the base class that gives a provider ``invoke``, ``ainvoke``,
``stream`` and ``astream``; :mod:`.reply` reads whole and streamed answers; :mod:`.stream`
is the streamed reply's two faces; :mod:`.recording` tells a tracer how a call ended;
:mod:`.gemini_request` builds Gemini's request body. The provider modules
(:mod:`orkes.connectors.openai`, ``anthropic``, ``gemini``) describe only their wire format.
"""
