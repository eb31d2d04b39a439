"""Every lesson: its link opens the same view, the view gives the same trajectories twice, and the
lesson's teaching claim holds in the numbers (the claims below are the lessons' own sentences)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

import numpy as np
import pytest
from apptest_helpers import network_training, new_app, status_table

import optimizers
from app import explorer_link, lessons
from app.deep_state import DeepState
from app.network_state import NetworkState
from app.state import AppState


def run_view(state: AppState) -> optimizers.SimulationResult:
    """The engine run behind an explorer view: its surface, optimizers, start, steps and seed."""
    return optimizers.simulate(
        state.surface(),
        [e.spec() for e in state.optimizers],
        [state.start_point()],
        steps=state.steps,
        seed=state.seed,
    )


def from_link(lesson: lessons.Lesson) -> AppState:
    """Decode the lesson's link as a browser would send it (a URL query string)."""
    text = urlencode(lesson.query(), doseq=True)
    state, warnings = explorer_link.from_query(parse_qs(text))
    assert warnings == []
    return state


def path(r, i: int) -> np.ndarray:
    return r.positions[i, 0]


def dist(r, i: int, point) -> float:
    return float(np.linalg.norm(r.final_positions[i, 0] - np.asarray(point)))


def winding(p: np.ndarray) -> float:
    """Total angle (in turns) the path sweeps around the origin."""
    angle = np.unwrap(np.arctan2(p[:, 1], p[:, 0]))
    return abs(angle[-1] - angle[0]) / (2 * np.pi)


def flip_rate(p: np.ndarray, start: int) -> float:
    """How often consecutive steps reverse along their dominant direction, from step ``start``."""
    u = np.diff(p[start:], axis=0)
    _, _, vt = np.linalg.svd(u, full_matrices=False)
    proj = u @ vt[0]
    return float(np.mean(proj[1:] * proj[:-1] < 0))


# -- the claims ---------------------------------------------------------------------------------


def too_small(r, land):
    # still far from the minimum after 100 steps, though every step went downhill
    assert np.all(np.diff(r.losses[0, 0]) <= 0)
    assert r.status[0, 0] == "moving" and dist(r, 0, (0, 0)) > 0.3


def just_right(r, land):
    assert r.status[0, 0] == "converged" and dist(r, 0, (0, 0)) < 1e-6
    assert flip_rate(path(r, 0), 1) < 0.1  # no zig-zag


def oscillating(r, land):
    assert flip_rate(path(r, 0), 20) > 0.9  # every step reverses across the valley
    assert r.status[0, 0] != "diverged" and r.final_losses[0, 0] < r.losses[0, 0, 0]


def diverging(r, land):
    assert r.status[0, 0] == "diverged" and 0 < r.diagnosis.diverged_at[0, 0] <= 100
    assert flip_rate(path(r, 0), 5) > 0.9


def momentum_spiral(r, land):
    gd, mom = path(r, 0), path(r, 1)
    assert gd[0, 0] < 0 and gd[:, 0].max() < 0  # gradient descent never passes x = 0
    assert mom[:, 0].max() > 0.3  # momentum overshoots the minimum's x
    assert (np.diff(np.sign(mom[:, 0])) != 0).sum() >= 4
    assert winding(mom) > 1.0 and winding(gd) < 0.1  # spirals more than once around


def nesterov(r, land):
    mom, nes = path(r, 0), path(r, 1)
    assert nes[:, 0].max() < 0.7 * mom[:, 0].max()  # smaller overshoot
    assert dist(r, 1, (0, 0)) < 0.3 * dist(r, 0, (0, 0))  # settles sooner


def saddle_escape(r, land):
    assert dist(r, 0, (0, 0)) < 0.01  # gradient descent waits at the saddle
    for i in (1, 2):  # noise and Adam escape into one of the two minima at (0, ±sqrt 2)
        assert dist(r, i, (0, 0)) > 0.5
    assert r.status[2, 0] == "converged"


def plateau(r, land):
    moved = np.linalg.norm(path(r, 0)[-1] - path(r, 0)[0])
    assert moved < 0.05 and r.grad_norms[0, 0, 0] < 1e-3  # vanishing gradient
    assert r.status[1, 0] == "converged" and r.status[2, 0] == "converged"
    eff = r.effective_lr[2, 0]  # Adagrad: the effective learning rate only decreases
    assert np.all(np.diff(eff, axis=0) <= 1e-12 * np.abs(eff[:-1]))
    assert np.all(eff[-1] < 1e-3 * eff[0])
    adam = r.effective_lr[1, 0]
    assert np.any(np.diff(adam, axis=0) > 0)  # Adam's can grow back


def cliff(r, land):
    steps = np.linalg.norm(r.updates[:, 0], axis=-1)
    assert steps[0].max() > 0.5 and steps[1].max() < 0.11  # a catapult; clipped steps stay small
    assert r.final_positions[0, 0, 0] < 0 < land.minima[0].x  # thrown back left of the cliff
    assert r.status[1, 0] == "converged" and r.status[0, 0] != "converged"


def ravine(r, land):
    losses = r.final_losses[:, 0]
    assert losses[0] > 100 * max(losses[1], losses[2])  # GD crawls; momentum and Adam are near
    assert dist(r, 1, (1, 1)) < 0.25 and dist(r, 2, (1, 1)) < 0.25 and dist(r, 0, (1, 1)) > 1
    assert r.status[3, 0] == "converged"
    near = np.linalg.norm(path(r, 3) - [1, 1], axis=-1) < 1e-6
    assert near.argmax() <= 60  # damped Newton (lr 0.5): about 50 steps


def basins(r, land):
    reached = r.diagnosis.minimum[:, 0]
    assert (r.status[:, 0] == "converged").all()
    assert len(set(reached.tolist())) == 3  # three runs, three different minima
    values = [land.minima[int(i)].value for i in reached]
    assert np.allclose(values, 0.0)  # all equally good


def rastrigin(r, land):
    assert (r.status[:, 0] == "trapped").all()
    assert (r.final_losses[:, 0] > 1.0).all()  # the global minimum is 0


def sgd_noise(r, land):
    tail = r.losses[:, 0, -100:].mean(axis=1)
    assert r.status[0, 0] == "converged" and tail[0] < 1e-12
    assert 0 < tail[1] < tail[2]
    # stationary loss grows like lr * noise^2: 4x the noise, about 16x the loss
    assert 6 < tail[2] / tail[1] < 40
    assert tail[3] < 0.5 * tail[2]  # the cosine schedule quiets the jitter


def second_order(r, land):
    def first_within(i: int, tol: float = 1e-6) -> int:
        near = np.linalg.norm(path(r, i) - [1, 1], axis=-1) < tol
        return int(near.argmax()) if near.any() else 10**9

    adam, newton, bfgs = (first_within(i) for i in range(3))
    assert newton <= 10 < bfgs <= 100 < adam
    ev = {k: v[:, 0] for k, v in r.evaluations.items()}
    assert ev["hessian"][1] == 100 and ev["hessian"][0] == ev["hessian"][2] == 0
    assert (ev["gradient"] == 100).all()


def bumps(r, land):
    assert r.status[0, 0] == "trapped" and r.final_losses[0, 0] > 0.5
    assert r.status[1, 0] == "converged" and r.status[2, 0] == "converged"


def lion_signs(r, land):
    """Every Lion step moves each coordinate by exactly lr; Adam's steps vary in length."""
    np.testing.assert_allclose(np.abs(r.updates[0, 0]), 0.02, rtol=1e-9)
    adam = np.abs(r.updates[1, 0])
    assert (adam.max(0) > 10 * adam.min(0)).all()
    assert r.status[1, 0] == "converged"
    # Lion ends zig-zagging within one lr of the minimum, on each axis
    m = np.array([land.minima[0].x, land.minima[0].y])
    assert np.abs(r.positions[0, 0, -20:] - m).max() < 0.02
    assert (np.sign(r.updates[0, 0, -20:]) != np.sign(r.updates[0, 0, -21:-1])).any()


def schedule_free(r, land):
    """Constant-lr SGD hovers; schedule-free SGD ends as close as SGD with a cosine schedule."""
    m = np.array([land.minima[0].x, land.minima[0].y])
    last = np.linalg.norm(r.positions[:, 0, -50:] - m, axis=-1).mean(-1)  # per run
    constant, cosine, free = last
    assert free < 1.5 * cosine and free < constant / 2
    # its average (the point schedulefree's eval() uses) is that close too
    average = np.linalg.norm(r.average[2, 0, -1] - m)
    assert average < 1.5 * cosine


def sam_wide(r, land):
    """GD, momentum and Adam settle in the narrow dip; SAM in the wide bowl."""
    wide = next(mn for mn in land.minima if mn.kind == "global")
    sharp = next(mn for mn in land.minima if mn.kind == "local")
    for i in range(3):
        assert r.status[i, 0] == "trapped"
        np.testing.assert_allclose(r.final_positions[i, 0], [sharp.x, sharp.y], atol=0.05)
    # SAM stays within 0.05 of the wide minimum for its last 100 steps
    assert np.linalg.norm(r.positions[3, 0, -100:] - [wide.x, wide.y], axis=-1).max() < 0.05
    assert (r.evaluations["gradient"][3] == 2 * r.steps).all()


CLAIMS: dict[str, Callable] = {
    "lr-too-small": too_small,
    "lr-just-right": just_right,
    "lr-oscillating": oscillating,
    "lr-diverging": diverging,
    "momentum-spiral": momentum_spiral,
    "nesterov-vs-momentum": nesterov,
    "saddle-escape": saddle_escape,
    "plateau-adagrad": plateau,
    "cliff-clipping": cliff,
    "rosenbrock-ravine": ravine,
    "himmelblau-basins": basins,
    "rastrigin-traps": rastrigin,
    "sgd-noise": sgd_noise,
    "second-order": second_order,
    "momentum-bumps": bumps,
    "lion-sign-steps": lion_signs,
    "schedule-free": schedule_free,
    "sam-wide-minimum": sam_wide,
}


def test_there_are_at_least_twelve_lessons_each_with_a_claim():
    ids = [lesson.id for lesson in lessons.LESSONS]
    assert len(ids) >= 12 and len(set(ids)) == len(ids)
    prediction_lessons = {
        "decision-regions",
        "digits-mistakes",
    }  # tests/test_network_predictions_page.py
    assert set(ids) == set(CLAIMS) | set(NETWORK_LESSONS) | set(DEEP_LESSONS) | prediction_lessons
    for lesson in lessons.LESSONS:
        assert lesson.title and len(lesson.explanation) > 100 and lesson.notice


@pytest.mark.parametrize("lesson", lessons.EXPLORER_LESSONS, ids=lambda lesson: lesson.id)
def test_each_lesson_reproduces_and_teaches_what_it_says(lesson):
    state = from_link(lesson)
    assert state == lesson.view() and state.lesson == lesson.id
    first, second = run_view(state), run_view(from_link(lesson))
    np.testing.assert_array_equal(first.positions, second.positions)
    np.testing.assert_array_equal(first.status, second.status)
    CLAIMS[lesson.id](first, state.surface())


def test_the_lessons_page_lists_every_lesson_and_opens_one_in_the_explorer():
    at = new_app()
    at.switch_page("views/lessons.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    for lesson in lessons.LESSONS:
        assert lesson.title in text
    next(b for b in at.button if b.key == "open_lr-diverging").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.query_params["lesson"] == ["lr-diverging"] or at.query_params["lesson"] == (
        "lr-diverging"
    )
    assert any("Learning rate too large: divergence" in s.value for s in at.subheader)
    assert any("diverged at step" in s for s in status_table(at, step=10**6)["Status"])


def test_the_explorer_shows_a_lesson_from_its_link_and_switches_lessons():
    at = new_app()
    for key, value in lessons.get("plateau-adagrad").query().items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not at.warning
    assert any("plateau" in s.value.lower() for s in at.subheader)
    assert any("What to notice" in m.value for m in at.markdown)
    at.selectbox(key="lesson_pick").set_value("lr-diverging").run()
    assert not at.exception
    assert at.selectbox(key="landscape").value == "quadratic"
    assert len(status_table(at)) == 1
    assert at.query_params["lesson"] in ("lr-diverging", ["lr-diverging"])


# -- the network lessons: trained through the network engine, as the network page does ------------


@pytest.fixture(scope="module")
def network_runs():
    out = {}
    for lesson_id in ("overfitting", "weight-decay"):
        lesson = lessons.get(lesson_id)
        state, warnings = NetworkState.from_query(parse_qs(urlencode(lesson.query(), doseq=True)))
        assert warnings == [] and state == lesson.state and lesson.page == "views/network.py"
        out[lesson_id] = network_training(state)[2]
    return out


def test_overfitting_lesson_has_a_validation_minimum_before_the_end(network_runs):
    r = network_runs["overfitting"]
    val, train = r.val_loss[0], r.train_loss[0]
    best = int(np.argmin(val))
    assert 0 < best < len(val) - 1  # early stopping would stop here
    assert val[-1] > 2 * val[best]  # and the validation loss then climbs
    assert train[-1] < 0.5 * val[best] and train[-1] < train[best]  # while training loss falls


def test_weight_decay_lesson_keeps_weights_small_and_validation_loss_down(network_runs):
    plain, decayed = network_runs["overfitting"], network_runs["weight-decay"]
    assert np.linalg.norm(decayed.params[0, -1]) < 0.5 * np.linalg.norm(plain.params[0, -1])
    assert decayed.val_loss[0, -1] < 0.5 * plain.val_loss[0, -1]
    assert decayed.val_loss[0, -1] < 1.2 * decayed.val_loss[0].min()  # no climb


def test_network_lessons_reproduce(network_runs):
    again = network_training(lessons.get("weight-decay").state)[2]
    np.testing.assert_array_equal(again.params, network_runs["weight-decay"].params)


NETWORK_LESSONS = ("overfitting", "weight-decay")

# -- the deep-learning lessons: computed by the studies directly, from the state the link decodes to


DEEP_LESSONS = ("vanishing-gradients", "edge-of-stability", "batch-size")


def deep_state(lesson_id: str) -> DeepState:
    lesson = lessons.get(lesson_id)
    state, warnings = DeepState.from_query(parse_qs(urlencode(lesson.query(), doseq=True)))
    assert warnings == [] and state == lesson.state
    assert lesson.page == "views/deep.py" and lesson.url_path == "deep"
    return state


def moons_600():
    from landscapes import network as net

    return net.load_dataset("moons", n_samples=600, noise=0.2, seed=0)


def test_vanishing_gradients_lesson_first_layer_gets_a_hundredth_and_relu_he_fixes_it():
    import torch.nn.functional as F

    from landscapes.network.deep import build_deep_mlp
    from studies.gradient_flow import gradient_flow

    state = deep_state("vanishing-gradients")
    assert (state.view, state.depth, state.activation) == ("gradients", 10, "sigmoid")
    data = moons_600()

    def flow(activation: str, init: str):
        model = build_deep_mlp(data, depth=state.depth, activation=activation, init=init)
        spec = ("sgd", {"lr": state.grad_lr})
        return gradient_flow(
            model,
            F.cross_entropy,
            data,
            [spec],
            steps=state.grad_steps,
            batch_size=64,
            record_every=2,
        )

    sigmoid = flow(state.activation, state.init)
    ratio = sigmoid.first_to_last()[0]
    assert ratio[0] <= 1e-2 and np.nanmax(ratio) <= 1e-2  # 100x smaller, all through training
    loss = sigmoid.training.train_loss[0]
    assert loss[-1] > 0.9 * loss[0]  # the network does not learn
    relu = flow("relu", "he")
    assert relu.first_to_last()[0, 0] > 1e-2 and relu.training.train_loss[0, -1] < 0.3 * loss[-1]


def test_edge_of_stability_lesson_sharpness_reaches_two_over_eta_and_stays_within_ten_percent():
    from studies.edge_of_stability import edge_of_stability, eos_model, one_hot_mse, subset

    state = deep_state("edge-of-stability")
    data = subset(moons_600(), 100)
    eos = edge_of_stability(
        eos_model(data),
        one_hot_mse,
        data,
        lr=state.eos_lr,
        steps=state.eos_steps,
        sharpness_every=10,
    )
    threshold = 2 / state.eos_lr
    assert eos.sharpness[0] < 0.7 * threshold  # it starts well below 2/eta (sharpening)
    reached = eos.first_reached(0.9)
    assert reached is not None
    late = eos.sharpness[eos.sharpness_steps >= state.eos_steps * 2 // 3]
    assert np.all(np.abs(late / threshold - 1) <= 0.1)  # hovering within 10 % of 2/eta
    loss = eos.train_loss
    assert np.any(np.diff(loss[reached:]) > 0)  # not monotone
    assert loss[-1] < loss[reached]  # and still falling over the long run


def test_batch_size_lesson_large_batches_fall_behind_and_linear_scaling_evens_them():
    import torch.nn.functional as F

    from landscapes import network as net
    from studies.batch_size import batch_size_study

    state = deep_state("batch-size")
    assert state.batch_sizes == (8, 32, 128) and not state.linear_scaling
    data = moons_600()
    model = net.build_model("mlp", data, widths=(64, 32), seed=0)

    def study(scaling: bool):
        return batch_size_study(
            model,
            F.cross_entropy,
            data,
            state.batch_sizes,
            epochs=state.epochs,
            lr=state.batch_lr,
            linear_scaling=scaling,
            base_batch_size=32,
        )

    plain = study(False)
    assert plain.train_loss[-1] >= 1.5 * plain.train_loss[0]  # batch 128 falls behind batch 8
    assert plain.noise_start[0] >= 16 * plain.noise_start[-1]  # noise falls as 1/B (and more)
    scaled = study(True)
    assert scaled.train_loss.max() <= 1.1 * scaled.train_loss.min()  # within 10 %
