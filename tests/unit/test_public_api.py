"""The public API is explicit; changing it should be a deliberate, reviewed act."""

import curate


def test_public_api_is_pinned() -> None:
    assert sorted(curate.__all__) == [
        "Config",
        "ConfigError",
        "CurateError",
        "DataError",
        "EmbedStats",
        "EmbeddingError",
        "WorkspaceError",
        "__version__",
        "build_manifest",
        "diff_versions",
        "embed_manifest",
        "load",
        "load_config",
        "make_embedder",
        "summarize",
        "tag_version",
    ]
    for name in curate.__all__:
        assert hasattr(curate, name), name


def test_every_error_is_a_curate_error() -> None:
    for cls in (curate.ConfigError, curate.DataError, curate.EmbeddingError, curate.WorkspaceError):
        assert issubclass(cls, curate.CurateError)
