"""Errors raised by rewardlab.

Every error a user can cause names the parameter, the value received and the fix, in one
template: ``"`{param}` must be {expectation} (got {value!r}). {fix}"``. The hierarchy is rooted
in :class:`RewardLabError`; each class also subclasses the matching builtin so that code which
catches ``ValueError`` or ``TypeError`` keeps working.

Owns the error classes and the helpers that write their messages (:func:`message`,
:func:`unknown`, :func:`suggest`).

Layer: the bottom of the ground floor: it imports only the standard library, and every other
module may import it (``import rewardlab`` loads it and nothing else).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "ConfigError",
    "MissingDependencyError",
    "NonFiniteRewardError",
    "RewardLabError",
    "RunBusyError",
    "SpecError",
    "StorageError",
    "UnknownNameError",
    "UntrustedFileError",
    "message",
    "suggest",
]


class RewardLabError(Exception):
    """Base class of every error that rewardlab raises on purpose."""


class ConfigError(RewardLabError, ValueError):
    """A configuration value (CLI flag, config field, function argument) is invalid."""


class SpecError(ConfigError):
    """A reward spec is invalid: wrong kind, unknown factor, bad weight, unreadable file."""


class UnknownNameError(ConfigError):
    """A name (env, factor, agent, reward kind) is not known; the message suggests the closest."""


class RunBusyError(ConfigError):
    """Another live process writes the run directory (the message names it: pid and host)."""


class UntrustedFileError(ConfigError):
    """A file in a format that can run code (pickle, cloudpickle) was not written by this run.

    The message says why it is refused and names the flag that loads it anyway.
    """


class StorageError(RewardLabError, OSError):
    """Writing a result failed: the disk is full, or the path is not a writable directory.

    The message names the path and the space or permission needed; what was written before is kept.
    """


class MissingDependencyError(RewardLabError, ImportError):
    """An optional dependency is not installed; the message names the install command."""


class NonFiniteRewardError(RewardLabError, FloatingPointError):
    """A reward function produced NaN or inf during training or evaluation."""


def message(param: str, expectation: str, value: Any, fix: str = "") -> str:
    """Format the one error template used across rewardlab.

    Example:
        >>> print(message("n_envs", "a positive integer", 0, "Pass n_envs=1 or more."))
        `n_envs` must be a positive integer (got 0). Pass n_envs=1 or more.
    """
    text = f"`{param}` must be {expectation} (got {value!r})."
    return f"{text} {fix}" if fix else text


def suggest(value: str, choices: Iterable[str]) -> str:
    """Return a "Did you mean ...?" hint for an unknown name, or a list of the valid names."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(str(value), choices, n=3, cutoff=0.5)
    if close:
        return "Did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "Valid names: " + ", ".join(repr(c) for c in choices) + "." if choices else ""


def unknown(param: str, value: str, choices: Iterable[str], what: str = "one of the known names") -> UnknownNameError:
    """Build an :class:`UnknownNameError` that suggests the closest valid names."""
    choices = list(choices)
    return UnknownNameError(message(param, what, value, suggest(value, choices)))
