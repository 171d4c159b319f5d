from pathlib import Path

import pytest

from curate.config import load_config
from curate.errors import ConfigError
from tests.helpers import write_workspace

DATA = {"sources": [{"path": "train.csv"}], "input_column": "text", "label_column": "label"}


def test_defaults_and_nested_sections(tmp_path: Path) -> None:
    write_workspace(tmp_path, DATA, embed={"batch_size": 8, "image": {"size": 16}})
    (tmp_path / "params.yaml").write_text("seed: 7\n")
    cfg = load_config(tmp_path)
    assert cfg.seed == 7
    assert cfg.embed.batch_size == 8
    assert cfg.embed.image.size == 16
    assert cfg.embed.image.dim == 256  # default kept
    assert cfg.data.sources[0].path == "train.csv"
    assert cfg.data.sources[0].header is True
    assert cfg.path("train.csv") == tmp_path.resolve() / "train.csv"


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = load_config(write_workspace(tmp_path, DATA))
    with pytest.raises(AttributeError):
        cfg.data.label_column = "other"  # type: ignore[misc]


def test_section_defined_twice_is_an_error(tmp_path: Path) -> None:
    write_workspace(tmp_path, DATA)
    (tmp_path / "configs" / "more.yaml").write_text("data: {sources: [{path: x.csv}]}\n")
    with pytest.raises(ConfigError, match="section 'data' is defined twice"):
        load_config(tmp_path)


def test_missing_data_section_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("seed: 0\n")
    with pytest.raises(ConfigError, match="curate init"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({**DATA, "modality": "video"}, r"data.modality must be one of: text, image, tabular"),
        ({**DATA, "sources": []}, "data.sources is empty"),
        ({**DATA, "split_values": {"val": "valid"}}, "targets must be one of"),
        ({**DATA, "modality": "tabular"}, "feature_columns is empty"),
        ({**DATA, "sources": [{"path": "a.csv", "split": "dev"}]}, r"sources\[0\].split"),
        ({**DATA, "metadata_columns": "source"}, "must be a list"),
        ({"input_column": "text"}, "required key"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, data: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write_workspace(tmp_path, data))


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    write_workspace(tmp_path, DATA)
    (tmp_path / "configs" / "embed.yaml").write_text("embed: [unclosed\n")
    with pytest.raises(ConfigError, match=r"embed.yaml is not valid YAML"):
        load_config(tmp_path)
