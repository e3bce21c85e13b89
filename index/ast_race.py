"""Loads retried past a CPython 3.11 race: parsing in two threads at once (ast, compile, and np.load,
which reads each .npy header with ast.literal_eval) can fail with "SystemError: AST constructor
recursion depth mismatch" (python/cpython#106905). Seen in docbot when the first answer of a Discord bot
loaded its keyword index while the event loop was busy: the user got "Something went wrong". The
failure leaves nothing half-done, so the load is simply tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger("docbot.index")
T = TypeVar("T")
ATTEMPTS = 3


def retry_ast_race(load: Callable[[], T]) -> T:
    """`load()`, tried up to ATTEMPTS times while it fails with that race's SystemError (and only that)."""
    for _ in range(ATTEMPTS - 1):
        try:
            return load()
        except SystemError as error:
            if "recursion depth mismatch" not in str(error):
                raise
            log.debug("loading again after CPython's AST race: %s", error)
    return load()
