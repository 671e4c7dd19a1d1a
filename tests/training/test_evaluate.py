"""evaluate: figures agree with scikit-learn on the returned predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, f1_score

from paretonas.errors import ConfigError
from paretonas.training import HParams, Split, evaluate, f1_noise, fit, macro_f1


def test_evaluate_agrees_with_sklearn(digits, make_model):
    train, val, mean, std = digits
    model = make_model()
    fit(model, train, val, HParams(epochs=1, lr=1e-2), mean=mean, std=std)
    result = evaluate(model, val, mean=mean, std=std, device="cpu", batch_size=100)
    labels = val.labels.numpy()
    assert model.training  # evaluate restores the mode it found
    assert len(result.predictions) == len(val)
    assert result.f1_macro == f1_score(labels, result.predictions, average="macro")
    assert result.confusion_matrix == confusion_matrix(labels, result.predictions).tolist()
    assert result.accuracy == pytest.approx((labels == result.predictions).mean())
    assert result.per_class["macro avg"]["f1-score"] == pytest.approx(result.f1_macro)
    assert set(map(str, range(10))) <= result.per_class.keys()
    # the loss is plain mean cross-entropy
    with torch.inference_mode():
        x = (val.images.float() / 255 - mean[0]) / std[0]
        expected = torch.nn.functional.cross_entropy(model.eval()(x), val.labels)
    assert result.loss == pytest.approx(float(expected), rel=1e-5)
    assert "predictions" not in result.to_dict()


def test_num_classes_sizes_the_matrix(digits, make_model):
    _, val, mean, std = digits
    few = Split(val.images[val.labels < 3], val.labels[val.labels < 3])
    model = make_model()
    wide = evaluate(model, few, mean=mean, std=std, num_classes=12)
    assert len(wide.confusion_matrix) == 12
    assert sum(map(sum, wide.confusion_matrix)) == len(few)
    with pytest.raises(ConfigError, match="num_classes: 2 is too small"):
        evaluate(model, few, mean=mean, std=std, num_classes=2)


@pytest.mark.parametrize(
    ("labels", "predictions"),
    [([0, 1, 2, 2], [0, 2, 2, 2]), ([0, 0, 1], [1, 1, 1]), ([3, 1, 4, 1, 5], [3, 1, 4, 1, 5])],
)
def test_macro_f1_is_sklearn(labels, predictions):
    assert macro_f1(labels, predictions) == f1_score(labels, predictions, average="macro")


def test_f1_noise_is_a_seeded_bootstrap_that_shrinks_with_the_split():
    rng = np.random.default_rng(0)

    def noisy(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, n)
        return labels, np.where(rng.random(n) < 0.85, labels, rng.integers(0, 10, n))

    small, large = noisy(90), noisy(2000)
    a, b = f1_noise(*small, 10), f1_noise(*small, 10)
    assert a == b  # seeded: the same split gives the same figures
    assert a.low <= macro_f1(*small) <= a.high and a.samples == 90
    assert 0.02 < a.se < 0.08  # about sqrt(p (1 - p) / n) for p ~ 0.85, n = 90
    assert f1_noise(*large, 10).se < a.se / 3  # 22x the images: ~4.7x less noise
    perfect = f1_noise(small[0], small[0], 10)  # no mistake: the bootstrap sees no noise
    assert perfect.low == perfect.high == 1.0
    assert 0.01 < perfect.se < 0.03  # but 90 images cannot tell 1.0 from 0.99: the floor
