"""Create-by-name registries: duplicate names, unknown names, keyword checking."""
from __future__ import annotations

import pytest

from supernas.errors import RegistryError
from supernas.registry import Registry


def _registry() -> Registry:
    reg: Registry = Registry("widget")

    @reg.register("small")
    def small(size: int = 1, colour: str = "red") -> tuple:
        return (size, colour)

    @reg.register("free")
    def free(**kwargs: object) -> dict:
        return dict(kwargs)

    return reg


def test_create_passes_kwargs_and_lists_names() -> None:
    reg = _registry()
    assert reg.create("small", size=3) == (3, "red")
    assert reg.create("free", anything=1) == {"anything": 1}
    assert reg.names() == ["free", "small"] and list(reg) == reg.names()
    assert "small" in reg and "big" not in reg
    assert list(reg.parameters("small")) == ["size", "colour"]


def test_duplicate_registration_is_refused() -> None:
    reg = _registry()
    with pytest.raises(RegistryError, match="widget 'small' is already registered"):
        reg.register("small")(lambda: None)


def test_unknown_name_and_bad_kwargs_name_what_is_allowed() -> None:
    reg = _registry()
    with pytest.raises(RegistryError) as err:
        reg.create("smal")
    assert str(err.value) == "unknown widget 'smal' (did you mean 'small'?); allowed: free, small"
    with pytest.raises(RegistryError) as err:
        reg.create("small", weight=2)
    assert str(err.value) == "widget 'small' got unknown argument(s) weight; allowed: size, colour"
