"""``supernas nni ...``: register the tuners, check a config, create an experiment, export a space.

``trial_templates.cli`` calls ``add_subcommand(subparsers)``; ``python -m nni_plugins.cli`` runs
the same commands on their own::

    supernas nni register [--meta FILE]        # wraps `nnictl algo register --meta`
    supernas nni unregister                    # wraps `nnictl algo unregister`
    supernas nni check --config config.yml     # validate the tuner's classArgs and search space
    supernas nni create --config config.yml [--port N]   # check, then `nnictl create`
    supernas nni export-space --space nb201 [--space-args JSON] [--style nas|choice]

``check``/``create`` exist because NNI 3.0 does not validate a v2 config's ``classArgs`` before
starting (``classArgsValidator`` is only used for v1 configs): a bad argument would otherwise
show only in the experiment's ``dispatcher.log``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from nni_plugins.search_space import from_nni, to_nni
from supernas.errors import ConfigError, SupernasError, bad_value
from supernas.yamlfile import read_yaml

META_FILE = Path(__file__).with_name("meta.yml")


def add_subcommand(subparsers: Any) -> None:
    """Add ``nni`` and its commands to an ``argparse`` subparsers object."""
    nni = subparsers.add_parser("nni", help="NNI integration (register tuners, create experiments)")
    sub = nni.add_subparsers(dest="nni_command", required=True)
    reg = sub.add_parser("register", help="register the supernas tuners with nnictl")
    reg.add_argument("--meta", default=str(META_FILE))
    reg.set_defaults(func=cmd_register)
    sub.add_parser("unregister", help="unregister the supernas tuners").set_defaults(func=cmd_unregister)
    for name, func in (("check", cmd_check), ("create", cmd_create)):
        p = sub.add_parser(name, help=f"{name} an NNI experiment config")
        p.add_argument("--config", required=True)
        p.add_argument("--port", type=int, default=None)
        p.set_defaults(func=func)
    exp = sub.add_parser("export-space", help="a supernas space as NNI search-space JSON")
    exp.add_argument("--space", required=True)
    exp.add_argument("--space-args", default="{}", help="JSON object of space arguments")
    exp.add_argument("--style", choices=("nas", "choice"), default="nas")
    exp.add_argument("--output", default=None)
    exp.set_defaults(func=cmd_export_space)


def _nnictl(*args: str) -> int:
    exe = shutil.which("nnictl") or str(Path(sys.executable).with_name("nnictl"))
    return subprocess.call([exe, *args])


def _meta_entries(path: str | Path = META_FILE) -> list[dict[str, Any]]:
    return list(yaml.safe_load(Path(path).read_text())["algorithms"])


def cmd_register(args: argparse.Namespace) -> int:
    return _nnictl("algo", "register", "--meta", args.meta)


def cmd_unregister(args: argparse.Namespace) -> int:
    codes = [_nnictl("algo", "unregister", m["builtinName"]) for m in _meta_entries()]
    return max(codes, default=0)


def cmd_check(args: argparse.Namespace) -> int:
    try:
        problem = check_config(Path(args.config))
    except SupernasError as exc:  # not a readable experiment config at all
        print(f"supernas: error: {exc}", file=sys.stderr)
        return 2
    if problem:
        print(f"supernas: error: {args.config}: {problem}", file=sys.stderr)
        return 2
    print(f"{args.config}: tuner classArgs and search space are valid")
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    if cmd_check(args) != 0:
        return 2
    port = ["--port", str(args.port)] if args.port else []
    return _nnictl("create", "--config", args.config, *port)


def cmd_export_space(args: argparse.Namespace) -> int:
    from supernas.space import decisions
    from supernas.spaces import create_space

    model = create_space(args.space, **json.loads(args.space_args))
    text = json.dumps(to_nni(decisions(model), args.style), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return 0


def check_config(path: Path) -> str | None:
    """Why the supernas tuner in experiment config ``path`` would fail to start, or None; a file
    that is missing or not an experiment config is a ``ConfigError``."""
    config = _read_config(path)
    tuner = config.get("tuner") or {}
    if not isinstance(tuner, dict):
        return f"tuner={tuner!r} is invalid; allowed: a mapping with name or className (and classArgs)"
    try:
        cls = _tuner_class(tuner, path.parent)
    except SupernasError as exc:
        return str(exc)
    if cls is None:
        return None  # not a supernas tuner: NNI's own checks apply
    if not isinstance(tuner.get("classArgs") or {}, dict):
        return f"tuner.classArgs={tuner['classArgs']!r} is invalid; allowed: a mapping of class arguments"
    class_args = tuner.get("classArgs") or {}
    try:
        cls(**class_args)
        if "space" not in class_args and cls.__name__ != "SupernasOneShot":
            from_nni(_search_space(config, path.parent))
    except SupernasError as exc:
        return f"tuner.classArgs / searchSpace: {exc}"
    except TypeError as exc:
        return f"tuner.classArgs: {exc}"
    return None


def _read_config(path: Path) -> dict[str, Any]:
    allowed = "allowed: an NNI experiment config (YAML mapping with tuner, searchSpace ...)"
    config = read_yaml(path, f"config={str(path)!r}", allowed)
    if not isinstance(config, dict):
        raise ConfigError(f"config={str(path)!r} holds a {type(config).__name__}, not a mapping; {allowed}")
    return config


def _tuner_class(tuner: dict[str, Any], base: Path) -> Callable[..., Any] | None:
    """The supernas tuner class ``tuner`` names, ``None`` for another tuner; a supernas-looking
    name or className that does not exist is a ``ConfigError`` listing those that do."""
    entries = _meta_entries()
    name = str(tuner.get("name") or "")
    known = {m["builtinName"].lower(): m["className"] for m in entries}
    qualified = known.get(name.lower()) or tuner.get("className")
    if not qualified and name.lower().startswith("supernas"):
        raise bad_value("tuner.name", name, ", ".join(m["builtinName"] for m in entries))
    if not qualified or not str(qualified).startswith("nni_plugins."):
        return None
    module, _, attr = str(qualified).rpartition(".")
    class_names = ", ".join(m["className"] for m in entries)
    try:
        cls = getattr(importlib.import_module(module), attr, None)
    except ImportError:
        cls = None
    if cls is None or not isinstance(cls, type):
        raise bad_value("tuner.className", qualified, class_names)
    return cls


def _search_space(config: dict[str, Any], base: Path) -> Any:
    if config.get("searchSpaceFile"):
        return json.loads((base / config["searchSpaceFile"]).read_text())
    return config.get("searchSpace") or {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supernas")
    add_subcommand(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
