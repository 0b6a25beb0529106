"""One settings schema: a frozen dataclass of typed settings per algorithm, parsed at every edge.

Each algorithm (one-shot in ``supernas.oneshot``, ask/tell in ``supernas.strategies``) defines a
``Settings`` subclass in its own file: typed fields with their defaults (and the defaults' sources
in comments), and one ``validate`` built from the checkers below, which raise
``supernas.errors.bad_value`` (``field=value is invalid; allowed: ...``). Variants extend their
parent's settings (BATS extends DARTS). The algorithm builds its settings from its keyword
arguments (``settings_signature`` gives it the matching signature, so registries and adapters see
named parameters), so a bad setting is refused the same way whoever passes it.

``Settings.parse`` is the one way from text to typed values for every adapter: CLI ``--set``,
Katib ``algorithmSettings`` strings and NNI ``classArgs`` (which nnictl has already read as
YAML 1.1). Strings are read as YAML 1.2 scalars (``supernas.yamlnum``: ``3e-4`` is a number), so a
text and the YAML value it spells give the same typed value and the same error message. Booleans
are never numbers, ``None``/``null`` is None where a field allows it, lists become tuples for
tuple fields, integers become floats for float fields. Nothing here imports torch.

Modelled on nanoGPT's ``GPTConfig`` (a typed dataclass of defaults) and NNI's ``ConfigBase``
(validation in one place); no code taken from either.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import yaml

from supernas.errors import ConfigError, bad_value
from supernas.yamlnum import load as load_yaml

S = TypeVar("S", bound="Settings")
C = TypeVar("C", bound=type)
NONE_WORDS = ("None", "none", "null", "~", "")  # ``None`` is how Katib and Python spell it


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base class: subclasses add fields and override ``validate`` (calling ``super().validate()``)."""

    def __post_init__(self) -> None:
        for name, hint in field_types(type(self)).items():
            object.__setattr__(self, name, _normalise(getattr(self, name), hint))
        self.validate()

    def validate(self) -> None:
        """Raise ``bad_value`` naming the first bad field."""

    def as_dict(self) -> dict[str, Any]:
        """Plain ``{field: value}`` (for ``config.yaml`` and state identities)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def build(cls: type[S], values: Mapping[str, Any]) -> S:  # noqa: PYI019 (no Self in 3.10)
        """``cls(**values)`` with unknown names refused by a message listing the allowed ones."""
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise ConfigError(f"unknown argument(s) {', '.join(unknown)}; allowed: "
                              + ", ".join(cls.names()))
        return cls(**values)

    @classmethod
    def parse(cls: type[S], raw: Mapping[str, Any]) -> S:  # noqa: PYI019
        """Typed, validated settings from text or YAML values (see the module docstring)."""
        hints = field_types(cls)
        return cls.build({k: parse_value(v, hints[k]) if k in hints else v for k, v in raw.items()})

    @classmethod
    def parse_given(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """``parse``, then the typed values of the keys in ``raw`` only, as plain data (tuples
        as lists): keyword arguments, trial parameters and ``config.yaml`` entries."""
        parsed = cls.parse(raw)
        return {k: _plain(getattr(parsed, k)) for k in raw}


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved type annotation of a settings dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def members(hint: Any) -> tuple[Any, ...]:
    """The types a field admits: ``float | None`` -> ``(float, NoneType)``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def scalar(hint: Any) -> bool:
    """True for fields a flat ``key=value`` string can carry (no tuples or lists)."""
    return all(m in (int, float, str, bool, type(None)) for m in members(hint))


def parse_value(value: Any, hint: Any) -> Any:
    """``value`` (a string is read as a YAML 1.2 scalar or list) as the field type admits it."""
    if not isinstance(value, str):
        return value
    kinds = members(hint)
    if value.strip() in NONE_WORDS and type(None) in kinds:
        return None
    try:
        loaded = load_yaml(value)
    except yaml.YAMLError:
        return value
    if isinstance(loaded, str) and float in kinds:
        return _float_or_text(loaded)  # nan, inf, 1_0 ...: numbers the checkers judge
    return value if loaded is None else loaded


def _float_or_text(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _normalise(value: Any, hint: Any) -> Any:
    """An int for a float field becomes a float; a list for a tuple field a tuple."""
    kinds = members(hint)
    if isinstance(value, int) and not isinstance(value, bool) and float in kinds and int not in kinds:
        try:
            return float(value)
        except OverflowError:
            return value  # too large for a float: the checker refuses it
    if isinstance(value, list) and any(typing.get_origin(k) is tuple for k in kinds):
        return tuple(value)
    return value


# ----------------------------------------------------------------------------------- checkers
def is_number(value: Any) -> bool:
    """A finite real number; booleans and ints beyond the float range are not."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def number(field: str, value: Any, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, none_ok: bool = False) -> None:
    """A finite number within the bounds (inclusive unless ``*_open``); None with ``none_ok``."""
    if value is None and none_ok:
        return
    ok = is_number(value) and (low is None or value > low or (value == low and not low_open)) \
        and (high is None or value < high or (value == high and not high_open))
    if not ok:
        raise bad_value(field, value, _range("a finite number", low, high, low_open, high_open, none_ok))


def integer(field: str, value: Any, low: int | None = None, high: int | None = None,
            none_ok: bool = False) -> None:
    """An ``int`` (not a bool) in ``low..high``; None with ``none_ok``."""
    if value is None and none_ok:
        return
    ok = isinstance(value, int) and not isinstance(value, bool) \
        and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        span = f" in {low}..{high}" if low is not None and high is not None else \
            f" >= {low}" if low is not None else ""
        raise bad_value(field, value, f"an integer{span}" + (", or None" if none_ok else ""))


def choice(field: str, value: Any, options: Iterable[Any], none_ok: bool = False,
           allowed: str | None = None) -> None:
    """One of ``options`` of the same type (``True`` is not ``1``, a list is never an option)."""
    opts = list(options)
    if value is None and none_ok:
        return
    if not any(type(value) is type(o) and value == o for o in opts):
        text = allowed or ", ".join(repr(o) if not isinstance(o, str) else o for o in opts)
        raise bad_value(field, value, text + (", or None" if none_ok and not allowed else ""))


#: Seeds feed NumPy's ``np.random.seed``, which takes 0 .. 2**32 - 1 (the trial's ``--seed`` has
#: the same bound, ``trial_templates.checks``).
SEED_MAX = 2**32 - 1


def check_seed(field: str, value: Any) -> None:
    """A seed: an integer from 0 to ``SEED_MAX``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SEED_MAX:
        raise bad_value(field, value, f"an integer from 0 to {SEED_MAX} (2**32 - 1)")


def boolean(field: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise bad_value(field, value, "true or false")


def _range(kind: str, low: float | None, high: float | None, low_open: bool, high_open: bool,
           none_ok: bool) -> str:
    if low is not None and high is not None:
        text = f"{kind} in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        text = f"{kind} {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        text = f"{kind} {'<' if high_open else '<='} {high:g}"
    else:
        text = kind
    return text + (", or None" if none_ok else "")


# ------------------------------------------------------------------------ constructor signatures
def settings_signature(settings: type[Settings], leading: Sequence[str] = (),
                       extra: Mapping[str, Any] | None = None) -> inspect.Signature:
    """A signature ``(*leading, <settings fields with defaults>, <extra keywords>)``:
    what ``inspect.signature`` (hence ``Registry.create`` and the adapters) reports for an
    algorithm whose ``__init__`` takes ``**settings``."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(name, kind) for name in leading]
    hints = field_types(settings)
    for f in dataclasses.fields(settings):
        factory = typing.cast("typing.Callable[[], Any]", f.default_factory)  # called only without a default
        default = f.default if f.default is not dataclasses.MISSING else factory()
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=hints[f.name]))
    for name, default in (extra or {}).items():
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default))
    return inspect.Signature(params)


def with_settings(settings: type[Settings], leading: Sequence[str] = ("space",),
                  extra: Mapping[str, Any] | None = None) -> Any:
    """Class decorator: ``cls.settings_class = settings`` and the matching ``__signature__``."""
    def decorate(cls: C) -> C:
        cls.settings_class = settings  # type: ignore[attr-defined]
        cls.__signature__ = settings_signature(settings, leading, extra)  # type: ignore[attr-defined]
        return cls
    return decorate
