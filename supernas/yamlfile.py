"""Reading a user's YAML file as data (``yaml.safe_load``: no tags that build objects), with one
message for each way it can fail: missing, unreadable, not valid YAML."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from supernas.errors import ConfigError


def read_yaml(path: str | Path, where: str, allowed: str, all_documents: bool = False) -> Any:
    """The file's document (a list of them with ``all_documents``); failures are a
    ``ConfigError`` starting with ``where`` (e.g. ``config='x.yml'``) and ending with ``allowed``."""
    try:
        text = Path(path).read_text()
        return list(yaml.safe_load_all(text)) if all_documents else yaml.safe_load(text)
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist; {allowed}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where} cannot be read: {exc}; {allowed}") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{where} is not valid YAML ({first}); {allowed}") from None
