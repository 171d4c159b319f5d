"""A local Ray cluster of two nodes (one CPU each) per test module, and small text workspaces.

The fixture connects this process to the cluster, so a stage run here (``compute.backend: ray``)
reuses the connection; a subprocess (``dvc repro``) joins it through ``RAY_ADDRESS``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from curate.pipeline import registry
from curate.scaffold.infer import infer_data_spec
from curate.scaffold.workspace import init_workspace

TOPICS = {
    "food": "pasta bread cheese soup salad cook taste dinner".split(),
    "sport": "goal match team score player coach league win".split(),
    "tech": "laptop phone code server cloud chip screen app".split(),
}
#: Object store of each node: the tests move a few hundred vectors.
STORE_BYTES = 100 * 1024**2


@pytest.fixture(scope="module")
def ray_cluster():
    """``(ray, cluster)``: two nodes of num_cpus=1, this process connected; shut down after."""
    ray = pytest.importorskip("ray", reason="the Ray tests need the extra: pip install -e .[ray]")
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": STORE_BYTES}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    try:
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
        ray.data.DataContext.get_current().enable_progress_bars = False
        yield ray, cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def text_csv(rows: int = 100, seed: int = 0) -> str:
    """``id,text,label,split``: short topic sentences, two exact copies of earlier texts (one
    content, embedded once) and two texts longer than the model's window (embedded in chunks)."""
    rng = random.Random(seed)
    lines = ["id,text,label,split"]
    texts = []
    for i in range(rows):
        label = sorted(TOPICS)[i % 3]
        if i in (40, 77):
            words = [rng.choice(TOPICS[label]) for _ in range(320)]  # over 256 word pieces
        else:
            words = [*rng.sample(TOPICS[label], 4), f"w{i}"]
        texts.append(" ".join(words))
        lines.append(f"t{i:04d},{texts[-1]},{label},{'test' if i % 6 == 0 else 'train'}")
    lines.append(f"t9000,{texts[3]},{sorted(TOPICS)[0]},train")
    lines.append(f"t9001,{texts[10]},{sorted(TOPICS)[1]},train")
    return "\n".join(lines) + "\n"


def set_config(root: Path, name: str, section: str, **values) -> None:
    """Set keys of ``configs/<name>.yaml`` (section ``section``), creating the file if needed."""
    path = root / "configs" / f"{name}.yaml"
    spec = yaml.safe_load(path.read_text()) if path.is_file() else {}
    spec = spec or {}
    node = spec.setdefault(section, {})
    for key, value in values.items():
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
        node = spec[section]
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def text_workspace(root: Path, backend: str = "local", **compute) -> Path:
    """A git + DVC workspace around :func:`text_csv` with the torch text backend and
    ``compute.backend`` (and other compute keys) set, its manifest built."""
    root.mkdir(parents=True)
    (root / "data.csv").write_text(text_csv())
    init_workspace(root, infer_data_spec(root, [str(root / "data.csv")]))
    set_config(root, "embed", "embed", **{"text.backend": "torch"})
    set_config(root, "compute", "compute", backend=backend, **compute)
    for stage in ("ingest", "apply"):  # the manifest the embed stage reads
        registry.get(stage).run(root)
    return root
