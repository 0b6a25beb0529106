"""``--config FILE`` for ``search`` and ``train`` (as LightningCLI's ``--config``): the file's values
become the run's defaults and the flags given on the command line override them, so
flag > file > built-in default. The file has the keys of the ``config.yaml`` every run writes (the
config dataclass's fields, plus ``command``); a run's own ``config.yaml`` re-runs that run. Mapping
values (``settings``, ``space_args``, ``stage_settings``, ``metric_names``) merge key by key under
the flags (``--set k=v`` changes one setting). The file is data: read with ``yaml.safe_load``.

Which flags were given is learnt by parsing the command line a second time into a namespace whose
every entry is a marker: the entries still holding it were not on the command line."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from supernas.errors import ConfigError, bad_value
from trial_templates.config_values import Options, check_values, option_parser


def add_config_options(p: argparse.ArgumentParser) -> None:
    """``--config FILE`` and ``--print-config``."""
    p.add_argument("--config", default=None, metavar="FILE",
                   help="YAML file of settings (e.g. a run's config.yaml): defaults that flags override")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved config as YAML and exit without training")


def fields_with_file(args: argparse.Namespace, options: Options, flag_fields: dict[str, Any],
                     config_class: type, dest_fields: Mapping[str, str]) -> dict[str, Any]:
    """``flag_fields`` (from the flags and their defaults) under ``--config``'s values, which the
    flags given explicitly override; ``dest_fields`` maps flag names (dests) to field names."""
    if not args.config:
        return flag_fields
    allowed = [f.name for f in dataclasses.fields(config_class)]
    data = read_config_file(args.config)
    check_keys(data, args.command, allowed, args.config)
    data.pop("command", None)
    values = check_values(data, config_class, options, args.config)
    return merge(flag_fields, values, given_fields(options, command_line(args), dest_fields))


def with_base(args: argparse.Namespace, options: Options, fields: dict[str, Any],
              base: Mapping[str, Any] | None, dest_fields: Mapping[str, str]) -> dict[str, Any]:
    """``fields`` with ``base``'s values (typed config fields from a caller, e.g. a Katib trial's
    assignments) in place of file values and defaults; the flags given explicitly still win and
    mappings merge key by key, as with ``--config``."""
    if not base:
        return fields
    return merge(fields, base, given_fields(options, command_line(args), dest_fields))


def read_config_file(path: str) -> dict[str, Any]:
    """The file's mapping (an empty file is an empty mapping), read with ``yaml.safe_load``."""
    p = Path(path)
    if not p.is_file():
        raise bad_value("config", path, "an existing YAML file, e.g. a run's config.yaml")
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"config={path!r} cannot be read as YAML: {' '.join(str(exc).split())}") from None
    if data is not None and not isinstance(data, Mapping):
        raise bad_value("config", path, "a YAML mapping of settings, e.g. a run's config.yaml")
    return dict(data or {})


def check_keys(data: Mapping[Any, Any], command: str, allowed: list[str], where: str) -> None:
    """Refuse keys that are not settings of ``command``, and a file recorded by another command."""
    recorded = data.get("command", command)
    if recorded != command:
        raise bad_value(f"{where}: command", recorded, f"{command!r} (the file is for `supernas "
                        f"{recorded}`; run that command, or drop the key)")
    unknown = sorted(str(k) for k in data if k not in allowed and k != "command")
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: "
                          f"{', '.join([*allowed, 'command'])}")


def merge(flags: Mapping[str, Any], file: Mapping[str, Any], given: set[str]) -> dict[str, Any]:
    """flag > file > default: a file value replaces the flag default unless the flag was given;
    mappings merge key by key, the given flag's keys winning."""
    out = dict(flags)
    for key, value in file.items():
        if key not in given:
            out[key] = value
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**value, **out[key]}
    return out


class _Unset(list):
    """Marks an entry no flag set; a list, so that ``append`` flags can copy and extend it."""


def given_fields(options: Options, argv: list[str], dest_fields: Mapping[str, str]) -> set[str]:
    """The fields the flags in ``argv`` (a subcommand's arguments) set explicitly."""
    parser = option_parser(options)
    unset = _Unset()
    namespace = argparse.Namespace(**{dest: unset for dest in vars(parser.parse_args([]))})
    parser.parse_args(argv, namespace)
    return {dest_fields.get(d, d) for d, v in vars(namespace).items() if v is not unset}


def command_line(args: argparse.Namespace) -> list[str]:
    """The arguments after the subcommand's name (``trial_templates.cli.main`` records them)."""
    argv = list(getattr(args, "command_line", None) or sys.argv[1:])
    return argv[argv.index(args.command) + 1:]
