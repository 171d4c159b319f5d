"""One thin module per dvc.yaml stage: load config, call the library, write artifacts."""
