"""Workflow configuration: load YAML, validate against the JSON schema, fill defaults.

The schema (``schemas/config.schema.yaml``) is the single source: the workflow
(``workflow/rules/common.smk``) and the CLI verbs both validate with :func:`validate_config`,
so they check the same thing and report it in the same one line.
"""

from __future__ import annotations

import copy
import difflib
import os
from importlib import resources
from typing import Any

from paretonas.config_checks import check_config
from paretonas.errors import ConfigError, redact, short_repr
from paretonas.yamlio import parse_yaml, read_yaml


def schema() -> dict[str, Any]:
    """The configuration JSON schema (as a dict)."""
    text = resources.files("paretonas").joinpath("schemas/config.schema.yaml").read_text()
    return parse_yaml(text, "config.schema.yaml")


def default_config() -> dict[str, Any]:
    """Every key at its default value."""
    return validate_config({}, "<defaults>")


def load_config(path: str | os.PathLike) -> dict:
    """Read a config YAML file, validate it, fill in defaults."""
    return validate_config(read_config_file(path), str(path))


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """A config file's mapping as written (not validated): the strict YAML loader, and no
    template of Snakemake's YTE (``__use_yte__``, ``?expression``), which would run code.

    The one reader of config files: the CLI verbs, the workflow (``common.smk``) and, through
    the ``paretonas_guard`` startup hook, Snakemake's own ``--configfile`` loading.
    """
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    _refuse_templates(data, str(path))
    return data


def _refuse_templates(value: Any, source: str, where: str = "") -> None:
    """Refuse YTE's markers: ``__use_yte__`` at the top level, a key or string value that
    starts with ``?`` anywhere (YTE evaluates those as Python). Nothing here is evaluated."""
    if isinstance(value, dict):
        if not where and "__use_yte__" in value:
            raise ConfigError(
                f"{source}: __use_yte__: {short_repr(value['__use_yte__'])}: YTE templates are "
                "refused; a config file holds data only, nothing in it is run"
            )
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and key.startswith("?"):
                _template_error(source, where or "(top level)", key)
            _refuse_templates(item, source, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_templates(item, source, f"{where}[{index}]")
    elif isinstance(value, str) and value.startswith("?"):
        _template_error(source, where, value)


def _template_error(source: str, where: str, text: str) -> None:
    raise ConfigError(
        f"{source}: {where}: {short_repr(text)} is a YTE template expression; it is refused, "
        "a config file holds data only, nothing in it is run"
    )


def validate_config(config: Any, source: str = "config") -> dict[str, Any]:
    """Validate ``config`` and return a copy with defaults filled in.

    Errors name the file and the key path: ``config/config.yaml: data.search_fraction: 1.5 is
    greater than the maximum of 1``. After the schema, :func:`check_config` checks what it
    cannot say (keys against each other, ``results_dir``).
    """
    import jsonschema  # deferred: only verbs that read a config pay for it

    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(config).__name__}")
    full = schema()
    filled = _fill_defaults(copy.deepcopy(config), full)
    validator = jsonschema.Draft202012Validator(full)
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message.replace(repr(error.instance), short_repr(error.instance), 1)
        node = error.schema if isinstance(error.schema, dict) else {}
        if error.validator == "additionalProperties":
            key, message = _unknown_key(error, key)
        elif node.get("x-value-not-shown"):  # a value there may be a secret (a token, a URL)
            message = f"{node.get('x-why', 'refused')}; its value is not shown (it may be a secret)"
        elif "x-why" in node:
            message += f" ({node['x-why']})"  # why the schema bounds the value
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(redact(f"{source}: {key}: {message}{more}"))  # a URL put in any key
    return check_config(filled, source)


def _unknown_key(error: Any, where: str) -> tuple[str, str]:
    """The key path and message of an unexpected key: its name, a close match, the known ones."""
    known = sorted(error.schema.get("properties", {}))
    unknown = sorted(str(k) for k in error.instance if k not in known)
    name = unknown[0] if unknown else "?"
    key = name if where == "(top level)" else f"{where}.{name}"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return key, f"unknown key{hint} Known keys here: {', '.join(known)}"


def _fill_defaults(value: Any, node: dict[str, Any]) -> Any:
    """Fill schema defaults into nested objects (before validation, as Snakemake does)."""
    if not isinstance(value, dict) or node.get("type") != "object":
        return value
    for key, sub in node.get("properties", {}).items():
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
        if key in value:
            value[key] = _fill_defaults(value[key], sub)
    return value
