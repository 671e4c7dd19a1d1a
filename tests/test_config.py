"""The workflow config: schema validation, defaults, and the docs kept in step with it."""

from __future__ import annotations

import pytest

from paretonas.config import default_config, load_config, schema, validate_config
from paretonas.errors import ConfigError
from tests.conftest import REPO


def key_paths(node: dict, prefix: str = "") -> list[str]:
    paths = []
    for key, sub in node.get("properties", {}).items():
        paths.append(prefix + key)
        paths += key_paths(sub, f"{prefix}{key}.")
    return paths


def test_every_key_is_documented_with_a_default():
    docs = (REPO / "config" / "README.md").read_text()
    for path in key_paths(schema()):
        assert f"`{path}`" in docs, f"config/README.md does not document {path}"


def test_every_schema_key_has_description_and_default():
    def check(node: dict, where: str) -> None:
        for key, sub in node.get("properties", {}).items():
            assert "description" in sub, f"{where}{key} has no description"
            assert "default" in sub, f"{where}{key} has no default"
            if sub.get("type") == "object":
                assert sub.get("additionalProperties") is False, f"{where}{key}"
                check(sub, f"{where}{key}.")

    check(schema(), "")


def test_shipped_config_equals_the_defaults():
    assert load_config(REPO / "config" / "config.yaml") == default_config()


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"data": {"serch_fraction": 0.3}},
            ["data.serch_fraction: unknown key", "did you mean 'search_fraction'?", "Known keys"],
        ),
        ({"search": {"n_trials": "many"}}, ["search.n_trials", "'many' is not of type"]),
        ({"search": {"objectives": [{"name": "speed"}]}}, ["search.objectives.0.name"]),
        ({"pruning": {"eta": 1}}, ["pruning.eta", "minimum"]),
        ([], ["top level must be a mapping"]),
    ],
)
def test_invalid_config_names_the_key(config, expected):
    with pytest.raises(ConfigError) as info:
        validate_config(config, "my.yaml")
    for part in expected:
        assert part in str(info.value)
    assert str(info.value).startswith("my.yaml: ")
