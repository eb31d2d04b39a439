"""Decision regions, confusion matrices, misclassified samples and first-layer filters
(landscapes.network.predictions), against scikit-learn, plain module calls and hand algebra;
the circles and XOR data sets."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics
import torch
import torch.nn.functional as F
from torch import nn

from landscapes.network import build_model, flatten, load_dataset, with_params
from landscapes.network.evaluator import intra_op_threads
from landscapes.network.predictions import (
    confusion_matrix,
    data_range,
    decision_grid,
    first_layer_filters,
    misclassified,
    predict_classes,
    predict_logits,
    recorded_index,
)
from studies.training import train


@pytest.fixture(scope="module")
def digits_cnn():
    data = load_dataset("digits")
    model = build_model("cnn", data, seed=0)
    with intra_op_threads(1):  # small kernels on a shared 2-core machine
        res = train(
            model,
            F.cross_entropy,
            data,
            [("adam", {"lr": 0.01})],
            steps=30,
            batch_size=128,
            record_every=10,
        )
    return data, model, res


def test_xor_and_circles_data():
    xor = load_dataset("xor", n_samples=400, noise=0.0)
    x, y = xor.x_train.numpy(), xor.y_train.numpy()
    # noise 0: the label is the quadrant rule; standardization moves the axes by the (small)
    # training mean, so check on points away from the axes
    far = (np.abs(x) > 0.2).all(1)
    assert np.array_equal(y[far], (x[far, 0] * x[far, 1] > 0).astype(int))
    circles = load_dataset("circles", n_samples=400, noise=0.0)
    r = np.linalg.norm(circles.x_train.numpy() - circles.x_train.numpy().mean(0), axis=1)
    inner, outer = r[circles.y_train.numpy() == 1], r[circles.y_train.numpy() == 0]
    assert inner.max() < outer.min()  # class 1 is the inner circle (make_circles)


def test_recorded_index():
    steps = [0, 10, 20, 25]
    assert [recorded_index(steps, s) for s in (0, 9, 10, 24, 25, 99)] == [0, 0, 1, 2, 3, 3]


def test_confusion_matrix_and_misclassified_match_sklearn_and_a_module_call(digits_cnn):
    data, model, res = digits_cnn
    params = res.params[0, -1]
    net = with_params(model, torch.as_tensor(params)).eval()
    with torch.no_grad():
        logits = net(data.x_val)
    pred = logits.argmax(-1).numpy()
    true = data.y_val.numpy()
    ours = confusion_matrix(model, params, data.x_val, data.y_val, 10)
    np.testing.assert_array_equal(
        ours, sklearn.metrics.confusion_matrix(true, pred, labels=range(10))
    )
    assert 0 < np.trace(ours) < len(true)  # partly trained: some right, some wrong
    wrong = misclassified(model, params, data.x_val, data.y_val)
    assert sorted(wrong.indices.tolist()) == np.flatnonzero(pred != true).tolist()
    np.testing.assert_array_equal(wrong.true, true[wrong.indices])
    np.testing.assert_array_equal(wrong.predicted, pred[wrong.indices])
    assert np.all(np.diff(wrong.confidence) <= 0)
    prob = torch.softmax(logits.double(), -1).numpy()
    np.testing.assert_allclose(wrong.confidence, prob[wrong.indices, wrong.predicted], rtol=1e-5)


def test_cnn_filters_are_the_first_convolution_weights(digits_cnn):
    data, model, res = digits_cnn
    for k in (0, -1):
        filters = first_layer_filters(model, res.params[0, k])
        net = with_params(model, torch.as_tensor(res.params[0, k]))
        np.testing.assert_array_equal(filters, net[0].weight.detach().numpy())
    assert filters.shape == (8, 1, 3, 3)
    assert not np.array_equal(first_layer_filters(model, res.params[0, 0]), filters)
    mlp = build_model("mlp", data, widths=(16,))
    w = first_layer_filters(mlp, flatten(mlp)[0], input_shape=(8, 8))
    np.testing.assert_array_equal(w[3], mlp[1].weight.detach()[3].reshape(8, 8).numpy())


def test_grid_axes_are_not_transposed():
    """A hand-set network whose class-1 logit is x1 (the first input): the predicted class on
    the grid changes along the columns (x axis) only, at x = 0."""
    data = load_dataset("moons", n_samples=100)
    model = nn.Sequential(nn.Linear(2, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
        model[0].bias.zero_()
    grid = decision_grid(model, flatten(model)[0], data, resolution=21)
    assert grid.classes.shape == (1, 21, 21)
    expected = (grid.xs > 0).astype(int)
    np.testing.assert_array_equal(grid.classes[0], np.broadcast_to(expected, (21, 21)))
    x0, x1, y0, y1 = data_range(data)
    assert grid.xs[0] == x0 and grid.xs[-1] == x1 and grid.ys[0] == y0 and grid.ys[-1] == y1
    np.testing.assert_allclose(grid.probabilities.sum(-1), 1, atol=1e-6)


def test_batch_norm_uses_the_reference_statistics_by_hand():
    data = load_dataset("moons", n_samples=100)
    model = build_model("mlp", data, widths=(6,), batch_norm=True, seed=1)
    theta = flatten(model)[0]
    grid_x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0)) * 3
    ours = predict_logits(model, theta, grid_x, reference=data.x_train)
    lin1, bn, _, lin2 = model[1], model[2], model[3], model[4]
    with torch.no_grad():
        h_ref = lin1(data.x_train)
        mean, var = h_ref.mean(0), h_ref.var(0, unbiased=False)
        h = (lin1(grid_x) - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias
        ref = lin2(torch.relu(h))
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    # reference None: the inputs' own statistics, as training's recorded accuracies
    own = predict_logits(model, theta, data.x_val)
    with torch.no_grad():
        h = lin1(data.x_val)
        h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + bn.eps) * bn.weight + bn.bias
        torch.testing.assert_close(own, lin2(torch.relu(h)), rtol=1e-5, atol=1e-5)
    assert not any(b.abs().sum() > 0 for n, b in model.named_buffers() if "running_mean" in n)


def test_predictions_agree_with_training_accuracy():
    data = load_dataset("moons", n_samples=200)
    model = build_model("mlp", data, widths=(16,), batch_norm=True, seed=0)
    res = train(model, F.cross_entropy, data, [("adam", {"lr": 0.02})], steps=20)
    pred = predict_classes(model, res.params[0, -1], data.x_val)
    assert (pred == data.y_val.numpy()).mean() == pytest.approx(res.val_acc[0, -1], abs=1e-6)


def test_trained_xor_regions_follow_the_quadrant_rule():
    """After training on XOR, the decision regions over the data's range agree with the rule
    'class 1 where x1 x2 > 0' on at least 90 % of the grid."""
    data = load_dataset("xor", n_samples=600, noise=0.1)
    model = build_model("mlp", data, widths=(32, 32), seed=0)
    res = train(
        model,
        F.cross_entropy,
        data,
        [("adam", {"lr": 0.01})],
        steps=300,
        batch_size=64,
        record_every=100,
    )
    grid = decision_grid(model, res.params[:, -1], data, resolution=41, margin=0.0)
    gx, gy = np.meshgrid(grid.xs, grid.ys)
    rule = (gx * gy > 0).astype(int)
    assert (grid.classes[0] == rule).mean() >= 0.9
    start = decision_grid(model, res.params[:, 0], data, resolution=41, margin=0.0)
    assert (start.classes[0] == rule).mean() < 0.75  # the untrained network does not know it


def test_a_whole_timeline_at_once_matches_one_module_call_per_network():
    """(R, T, P) parameters: the batched kernels give, for every run and step, the softmax of a
    plain module call at that network; the same through the vmap path (a residual model)."""
    from landscapes.network.deep import build_deep_mlp

    data = load_dataset("moons", n_samples=200)
    for model in (
        build_model("mlp", data, widths=(16, 8), dropout=0.2, seed=0),
        build_deep_mlp(data, depth=4, width=8, activation="tanh", residual=True),
    ):
        res = train(
            model,
            F.cross_entropy,
            data,
            [("sgd", {"lr": 0.5}), ("adam", {"lr": 0.02})],
            steps=20,
            record_every=10,
        )
        grid = decision_grid(model, res.params, data, resolution=15)
        assert grid.classes.shape == (2, 3, 15, 15)
        gx, gy = np.meshgrid(grid.xs, grid.ys)
        pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
        for r in range(2):
            for k in range(3):
                net = with_params(model, torch.as_tensor(res.params[r, k])).eval()
                with torch.no_grad():
                    ref = torch.softmax(net(pts), -1).numpy().reshape(15, 15, 2)
                np.testing.assert_allclose(grid.probabilities[r, k], ref, atol=1e-5)
