"""Numbers as people write them: ``3e-4``, ``5e-05``, ``1E3`` are floats.

PyYAML implements YAML 1.1, whose float pattern needs a dot and a signed exponent
(``3.0e-4``): ``yaml.safe_load("3e-4")`` is the *string* ``'3e-4'``. YAML 1.2 (core schema) and
Python read it as a number. Settings reach supernas through such readers: ``--set`` values, NNI
experiment configs (nnictl reads them with ``yaml.safe_load``, so ``classArgs`` keep the string)
and Katib assignments (Python writes ``5e-05``). ``load`` reads YAML with the YAML 1.2 float
forms added; ``numbers`` converts such strings inside data another reader already loaded.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

#: Decimal numbers with an exponent (YAML 1.2 core schema floats that YAML 1.1 leaves strings).
SCIENTIFIC = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")


class NumberLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also resolves ``SCIENTIFIC`` plain scalars as floats."""


NumberLoader.add_implicit_resolver("tag:yaml.org,2002:float", SCIENTIFIC, list("-+.0123456789"))


def load(text: str) -> Any:
    """``yaml.safe_load`` with ``3e-4``-style scalars read as floats."""
    return yaml.load(text, Loader=NumberLoader)


def numbers(value: Any) -> Any:
    """``value`` with every ``SCIENTIFIC`` string (in dicts, lists and tuples too) a float."""
    if isinstance(value, str):
        return float(value) if SCIENTIFIC.match(value.strip()) else value
    if isinstance(value, Mapping):
        return {k: numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(numbers(v) for v in value)
    return value
