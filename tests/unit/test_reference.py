"""The reference model's members and their combination are out of fold."""

from __future__ import annotations

import numpy as np
import pytest

from curate.config import PredictConfig
from curate.errors import ConfigError
from curate.model.reference import MEMBERS, reference_pred_probs, resolve_members


def _memorisable(n: int = 400, k: int = 4, seed: int = 0):
    """Samples whose labels are random, but each sample is unique and easy to memorise: its
    vector is a one-hot of its own id (plus a little noise) and its text a random draw of
    words, unique as a whole. A
    model that has seen a sample's label predicts it back; one that has not is at chance."""
    rng = np.random.default_rng(seed)
    labels = [f"c{v}" for v in rng.integers(0, k, n)]
    X = np.eye(n, dtype=np.float32) + rng.normal(0, 0.01, (n, n)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    vocab = [f"w{j}" for j in range(60)]
    texts = [" ".join(rng.choice(vocab, 6)) for _ in range(n)]
    return X, labels, texts


@pytest.mark.parametrize("member", MEMBERS)
def test_member_fed_random_labels_is_at_chance_on_its_own_fold(member):
    X, labels, texts = _memorisable()
    # one neighbour for knn: a vote that included the sample itself would always be right
    cfg = PredictConfig(mlp_epochs=10, knn_k=1)
    ref = reference_pred_probs(
        X, labels, [str(i) for i in range(len(labels))], cfg, (member,), seed=0, texts=texts
    )
    # Chance is 1/4; a member that saw each sample's own label would be near 1.
    assert ref.members[0].cv_accuracy < 0.4, ref.members[0]
    assert ref.predictions.cv_accuracy < 0.4


def test_in_sample_fit_would_memorise_the_same_data():
    """The data above is memorisable: the same members scored in sample are far above
    chance, so the out-of-fold test could fail."""
    from curate.model.predict import _full_proba, make_model

    X, labels, _ = _memorisable()
    y = np.array([int(c[1:]) for c in labels])
    model = make_model(PredictConfig(logreg_c=100.0), 0).fit(X, y)
    assert (_full_proba(model, X, 4).argmax(axis=1) == y).mean() > 0.9


def test_copies_share_a_fold_so_a_copy_cannot_vote_for_its_twin():
    X, labels, texts = _memorisable(n=200)
    X2 = np.vstack([X, X])  # every sample twice, same label
    labels2, texts2 = labels + labels, texts + texts
    groups = [str(i % 200) for i in range(400)]
    for member in ("knn", "lexical_logreg"):
        ref = reference_pred_probs(
            X2, labels2, groups, PredictConfig(), (member,), seed=0, texts=texts2
        )
        assert ref.members[0].cv_accuracy < 0.4, member


def _informative(n=600, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(0, 1, (k, 16))
    X = (centres[y] + rng.normal(0, 0.8, (n, 16))).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    words = [f"topic{v}" for v in y]
    texts = [f"{w} filler{rng.integers(0, 50)} filler{rng.integers(0, 50)}" for w in words]
    return X, [f"c{v}" for v in y], texts


def test_combination_weighs_an_informative_member_over_an_uninformative_one():
    X, labels, texts = _informative()
    noise = np.random.default_rng(1).normal(size=X.shape).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    # lexical texts carry the label; the embedding member sees pure noise
    ref = reference_pred_probs(
        noise,
        labels,
        [str(i) for i in range(len(labels))],
        PredictConfig(),
        ("embedding_logreg", "lexical_logreg"),
        seed=0,
        texts=texts,
    )
    w = ref.weights
    assert w["lexical_logreg"] > 5 * w["embedding_logreg"], w
    by_name = {m.name: m for m in ref.members}
    assert by_name["lexical_logreg"].cv_accuracy > 0.95
    assert ref.predictions.cv_accuracy >= by_name["lexical_logreg"].cv_accuracy - 0.02


def test_pool_rows_are_predicted_and_fold_is_minus_one():
    X, labels, texts = _informative()
    labels = [lab if i % 5 else None for i, lab in enumerate(labels)]
    ref = reference_pred_probs(
        X,
        labels,
        [str(i) for i in range(len(labels))],
        PredictConfig(),
        ("embedding_logreg", "knn"),
        seed=0,
    )
    pool = np.array([lab is None for lab in labels])
    assert (ref.predictions.fold[pool] == -1).all() and (ref.predictions.fold[~pool] >= 0).all()
    np.testing.assert_allclose(ref.predictions.pred_probs.sum(axis=1), 1.0, atol=1e-5)


def test_auto_members_follow_the_modality_and_lexical_needs_text():
    assert resolve_members(PredictConfig(), "text") == ("embedding_logreg", "lexical_logreg")
    assert resolve_members(PredictConfig(), "image") == ("embedding_logreg",)
    with pytest.raises(ConfigError, match="lexical_logreg"):
        resolve_members(PredictConfig(members=("lexical_logreg",)), "tabular")
