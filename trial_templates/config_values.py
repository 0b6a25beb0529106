"""The values of a ``--config`` file, checked as their flags are: a scalar goes through its flag's
own ``type`` and ``choices`` (``epochs: 5`` is read as ``--epochs 5`` would be), booleans must be
``true``/``false``, mappings must be mappings with string keys (normalised as ``--set`` keys are),
``metric_names`` through ``--metric-name``'s parser. The algorithm settings are validated later, by
the algorithm's settings schema, once the algorithm is known (``parse_settings``)."""
from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from supernas.errors import ConfigError, bad_value
from trial_templates.reporting import parse_metric_names

Options = Callable[[argparse.ArgumentParser], None]


class _Refusing(argparse.ArgumentParser):
    """A parser whose errors are ``ConfigError`` (one line) instead of usage and exit."""

    def error(self, message: str) -> typing.NoReturn:
        raise ConfigError(message)


def option_parser(options: Options) -> argparse.ArgumentParser:
    """A stand-alone parser holding the flags ``options`` adds (a subcommand's)."""
    parser = _Refusing(add_help=False)
    options(parser)
    return parser


def check_values(data: Mapping[str, Any], config_class: type, options: Options,
                 where: str) -> dict[str, Any]:
    """``data`` (keys already checked) with each value checked and typed like its flag."""
    hints = typing.get_type_hints(config_class)
    parser = option_parser(options)
    return {key: _check(key, value, hints[key], parser, where) for key, value in data.items()}


def _check(key: str, value: Any, hint: Any, parser: argparse.ArgumentParser, where: str) -> Any:
    kinds = _members(hint)
    if value is None and type(None) in kinds:
        return None
    if bool in kinds:
        if not isinstance(value, bool):
            raise bad_value(f"{where}: {key}", value, "true or false")
        return value
    if any(typing.get_origin(k) is dict or k is dict for k in kinds):
        return _mapping(key, value, where)
    return _scalar(key, value, parser, where)


def _members(hint: Any) -> tuple[Any, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def _mapping(key: str, value: Any, where: str) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise bad_value(f"{where}: {key}", value, "a mapping of names to values")
    if key == "metric_names":  # internal=KatibName, as --metric-name reads them
        return parse_metric_names([f"{k}={v}" for k, v in value.items()])
    return {k.strip().replace("-", "_"): v for k, v in value.items()}  # as --set keys


def _scalar(key: str, value: Any, parser: argparse.ArgumentParser, where: str) -> Any:
    """``value`` parsed as ``--key value`` would be."""
    if value is None or isinstance(value, (bool, list, dict)):
        raise bad_value(f"{where}: {key}", value, f"a single value, as --{key.replace('_', '-')} takes")
    try:
        parsed = parser.parse_args([f"--{key.replace('_', '-')}={value}"])
    except ConfigError as exc:
        raise ConfigError(f"{where}: {key}={value!r} is invalid ({exc})") from None
    return getattr(parsed, key)
