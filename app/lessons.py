"""Ready lessons: each is a complete explorer view (an ``AppState``, so a ``v=1`` link) with a
title, a one-line summary, a one-paragraph explanation and what to notice.

Lessons are data. Every teaching claim made here is checked numerically by
``tests/test_lessons.py`` (e.g. "diverges" really has the status "diverged"), and a lesson's link
decodes to the same view, and the same trajectories, every time. Runs are deterministic: the
gradient noise depends on the seed and the step only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from optimizers import Schedule

from .deep_state import DeepState
from .links import v1
from .network_state import NetOptimizer, NetworkState
from .state import AppState, OptimizerEntry

E = OptimizerEntry.make
# each lesson's picture, written by ``python -m bench.lesson_thumbnails``
THUMBNAILS = Path(__file__).resolve().parent.parent / "assets" / "lessons"
QUADRATIC = (("kappa", 5.0),)  # the teaching bowl: curvatures 10 and 2, GD diverges for lr > 0.2


@dataclass(frozen=True)
class Lesson:
    """One lesson: ``state`` is the explorer view it opens (without the lesson marker)."""

    id: str
    title: str
    summary: str  # one line: what the lesson shows (the Lessons page's card)
    explanation: str
    notice: str
    state: AppState | NetworkState | DeepState

    @property
    def page(self) -> str:
        """The page script that shows the lesson: the explorer, the network page or the deep
        learning page."""
        return PAGES[type(self.state)][0]

    @property
    def url_path(self) -> str:
        """The page's address under the app's: "" for the explorer, "network" for the network
        page, "deep" for the deep-learning page (``app.main``)."""
        return PAGES[type(self.state)][1]

    @property
    def page_title(self) -> str:
        """The page in words, as the Lessons page's button names it ("Open in the ...")."""
        return PAGES[type(self.state)][2]

    @property
    def thumbnail(self) -> Path:
        """The lesson's picture: its chart as the page draws it (``bench.lesson_thumbnails``)."""
        return THUMBNAILS / f"{self.id}.png"

    def view(self, play: bool = False) -> AppState | NetworkState:
        """The state that opens this lesson: for the explorer, the view plus ``lesson=<id>``
        (the explorer then shows the explanation), and with ``play`` its race played once from
        step 0 on opening; the network and deep-learning pages' states as they are."""
        if not isinstance(self.state, AppState):
            return self.state
        state = self.state
        if state.start is None and state.landscape not in v1.STARTS:
            # a surface added after v=1 has no frozen start: its link names the start, which
            # then decodes as named
            state = replace(state, start=state.start_point())
        return replace(state, lesson=self.id, play=play, step=0 if play else state.step)

    def query(self, play: bool = False) -> dict[str, str | list[str]]:
        """The lesson's link as query parameters (``v=1``) of its page (``play``: see ``view``)."""
        return self.view(play).to_query()


# each page's script, url path (``app.main``) and name in words, by the type of its state
PAGES: dict[type, tuple[str, str, str]] = {
    AppState: ("views/explorer.py", "", "explorer"),
    NetworkState: ("views/network.py", "network", "network page"),
    DeepState: ("views/deep.py", "deep", "deep-learning page"),
}


def _quadratic(*entries: OptimizerEntry, steps: int = 100, **more) -> AppState:
    return AppState(
        landscape="quadratic",
        landscape_params=QUADRATIC,
        optimizers=entries,
        steps=steps,
        show_3d=False,
        **more,
    )


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "lr-too-small",
        "Learning rate too small",
        "lr = 0.005 on a bowl: the right direction, but steps far too short.",
        "Gradient descent moves by the learning rate times the gradient. On this bowl (curvatures "
        "10 and 2) a learning rate of 0.005 shrinks the distance to the minimum by only 1 % to 5 % "
        "per step, so after 100 steps the run is still far away. Nothing is wrong with the "
        "direction: the steps are just too short.",
        "The path is smooth and heads the right way, but the loss curve is still high at the last "
        "step; compare the 'just right' lesson on the same surface.",
        _quadratic(E("gd", lr=0.005)),
    ),
    Lesson(
        "lr-just-right",
        "Learning rate just right",
        "lr = 0.1: the steep direction is solved in one step, then fast convergence.",
        "With lr = 0.1, one step removes the steep direction's error completely (1 - 0.1 x 10 = "
        "0) and the flat direction's error shrinks by 1 - 0.1 x 2 = 0.8 per step. The best "
        "constant rate for a quadratic is 2 / (lambda_max + lambda_min) = 1/6; anything near it "
        "converges fast without zig-zag.",
        "The run reaches the minimum within a few dozen steps; the loss curve falls straight on "
        "the log scale (linear convergence).",
        _quadratic(E("gd", lr=0.1)),
    ),
    Lesson(
        "lr-oscillating",
        "Learning rate too large: oscillation",
        "lr = 0.19: every step overshoots the valley floor; the run zig-zags in.",
        "At lr = 0.19 the steep direction's error is multiplied by 1 - 0.19 x 10 = -0.9 each "
        "step: it changes sign and shrinks only slowly. The run bounces from wall to wall across "
        "the valley while the flat direction converges.",
        "The path zig-zags across the steep axis; every step overshoots the valley floor. It "
        "still converges, slowly.",
        _quadratic(E("gd", lr=0.19)),
    ),
    Lesson(
        "lr-diverging",
        "Learning rate too large: divergence",
        "lr = 0.21, past 2 / lambda_max: the zig-zag grows and the run blows up.",
        "Past lr = 2 / lambda_max = 0.2 the steep direction's error is multiplied by more than 1 "
        "in size each step (1 - 0.21 x 10 = -1.1): every bounce is bigger than the last and the "
        "run blows up. The status table says at which step.",
        "The zig-zag grows instead of shrinking; the loss curve climbs exponentially and the "
        "status says 'diverged at step k'.",
        _quadratic(E("gd", lr=0.21)),
    ),
    Lesson(
        "momentum-spiral",
        "Momentum overshoots and spirals",
        "Heavy-ball momentum builds speed, overshoots and spirals into the minimum.",
        "Heavy-ball momentum (Polyak 1964) adds 0.9 of the previous step to each new one. The "
        "run builds up speed, shoots past the minimum, turns and comes back: on a bowl it "
        "spirals in. Plain gradient descent with the same learning rate never overshoots.",
        "The momentum path crosses the minimum's x several times and circles it more than once; "
        "the velocity arrow points along the path, not downhill.",
        _quadratic(E("gd", lr=0.02), E("momentum", lr=0.02)),
    ),
    Lesson(
        "nesterov-vs-momentum",
        "Nesterov versus heavy-ball momentum",
        "Nesterov's look-ahead brakes earlier: a tighter spiral than momentum's.",
        "Nesterov's method (Nesterov 1983; Sutskever et al. 2013) takes the gradient after the "
        "momentum step, a look-ahead that brakes before the overshoot. Same learning rate, same "
        "momentum: the Nesterov path turns earlier, overshoots less and settles sooner.",
        "The Nesterov spiral is tighter than the momentum spiral; its final distance to the "
        "minimum is several times smaller.",
        _quadratic(E("momentum", lr=0.02), E("nesterov", lr=0.02)),
    ),
    Lesson(
        "saddle-escape",
        "Stalled at a saddle; noise and Adam escape",
        "Gradient descent waits at a saddle point; noise and Adam get away.",
        "Started almost exactly on the saddle's stable direction (y = 1e-6), gradient descent "
        "slides into the saddle point, where the gradient vanishes, and waits there: the escape "
        "direction grows only by a factor 1 + 2 lr per step. A little gradient noise kicks the "
        "run off the ridge; Adam's normalised steps amplify the tiny y-gradient and leave at once "
        "(Dauphin et al. 2014).",
        "Gradient descent ends next to the saddle at the centre; the noisy run and Adam reach one "
        "of the two minima.",
        AppState(
            landscape="saddle_bounded",
            optimizers=(E("gd", lr=0.02), E("gd", lr=0.02, noise=0.1), E("adam", lr=0.05)),
            start=(1.5, 1e-6),
            steps=150,
            show_3d=True,
        ),
    ),
    Lesson(
        "plateau-adagrad",
        "A plateau: vanishing gradients, and Adagrad's decaying step",
        "Tiny gradients stall gradient descent; Adam and Adagrad cross the plateau.",
        "On the plateau the gradient is about 3e-4: gradient descent (and momentum) multiply it "
        "by the learning rate and barely move. Adaptive methods divide by the gradient's size, so "
        "their steps stay large. Adagrad divides by the square root of the sum of all past "
        "squared gradients, so its effective learning rate can only shrink; Adam's can grow back.",
        "Gradient descent has hardly left the start after 300 steps; Adam and Adagrad cross the "
        "plateau. Hover the markers: Adagrad's effective learning rate falls step after step.",
        AppState(
            landscape="plateau",
            optimizers=(E("gd", lr=0.1), E("adam", lr=0.05), E("adagrad", lr=0.5)),
            steps=300,
            show_3d=True,
        ),
    ),
    Lesson(
        "cliff-clipping",
        "A cliff: exploding gradients and clipping",
        "A huge gradient throws momentum back; clipping its norm walks it down.",
        "Near the cliff the gradient is huge. A momentum step that lands on it is thrown far back "
        "(Pascanu et al. 2013). Clipping the gradient's norm to 1 bounds every step, so the run "
        "walks down the cliff instead of being catapulted.",
        "The unclipped run makes one giant jump back to the left and is still far from the "
        "minimum at the end; the clipped run reaches it.",
        AppState(
            landscape="cliff",
            optimizers=(E("momentum", lr=0.01), E("momentum", lr=0.01, clip_norm=1.0)),
            steps=300,
            show_3d=True,
        ),
    ),
    Lesson(
        "rosenbrock-ravine",
        "The Rosenbrock ravine",
        "A curved narrow valley: GD crawls, momentum and Adam glide, Newton jumps.",
        "Rosenbrock's valley is steep across and nearly flat along its curved floor. Gradient "
        "descent needs a small learning rate to survive the walls and then crawls along the "
        "floor; momentum accumulates speed along it, Adam rescales each axis, and Newton's "
        "method uses the curvature to step along the valley (Rosenbrock 1960).",
        "After 500 steps gradient descent has covered a fraction of the valley; momentum and Adam "
        "are close to (1, 1); Newton, damped to half steps, is there in about 50.",
        AppState(
            landscape="rosenbrock",
            optimizers=(
                E("gd", lr=0.001),
                E("momentum", lr=0.001),
                E("adam", lr=0.1),
                E("newton", lr=0.5),
            ),
            steps=500,
        ),
    ),
    Lesson(
        "himmelblau-basins",
        "Himmelblau's four basins",
        "Four equal minima: the path, not the quality, decides where a run ends.",
        "Himmelblau's function has four minima of exactly the same value. From one start "
        "different optimizers, or the same one with a different learning rate, end in different "
        "basins: which minimum you reach says nothing about its quality, only about the path.",
        "Three runs from the same start end in three different minima; click elsewhere on the "
        "contour to find the fourth.",
        AppState(
            landscape="himmelblau",
            optimizers=(E("gd", lr=0.01), E("rmsprop", lr=0.1), E("momentum", lr=0.02)),
            start=(0.25, -2.0),
            steps=400,
        ),
    ),
    Lesson(
        "rastrigin-traps",
        "Rastrigin's traps",
        "An egg-crate of local minima: every local method is trapped.",
        "Rastrigin's function is a bowl covered by an egg-crate of local minima. A local method "
        "follows the gradient into the nearest dimple and stops: the global minimum at the centre "
        "is invisible from there. Different step sizes land in different dimples.",
        "Every run is 'trapped' in a local minimum with a loss far above the global 0.",
        AppState(
            landscape="rastrigin",
            optimizers=(E("gd", lr=0.002), E("momentum", lr=0.005), E("adam", lr=0.1)),
            steps=500,
        ),
    ),
    Lesson(
        "sgd-noise",
        "SGD noise and batch size",
        "Noisy gradients jitter around the minimum; a cosine schedule quiets them.",
        "Stochastic gradient descent sees a noisy gradient. Here the noise is Gaussian with "
        "standard deviation 'noise', which stands for the minibatch: it scales like "
        "1/sqrt(batch size), so noise 0.5 is a batch 16 times larger than noise 2. With a "
        "constant learning rate the run does not settle: it jitters around the minimum at a loss "
        "that grows like lr x noise^2. A decaying (cosine) learning rate quiets the jitter.",
        "Exact gradient descent converges; the noisy runs hover in a cloud whose size grows with "
        "the noise; the cosine schedule ends closer.",
        _quadratic(
            E("gd", lr=0.05),
            E("sgd", lr=0.05, noise=0.5),
            E("sgd", lr=0.05, noise=2.0),
            E("sgd", lr=0.05, noise=2.0, schedule=Schedule("cosine")),
            steps=300,
        ),
    ),
    Lesson(
        "second-order",
        "Newton versus quasi-Newton versus first-order",
        "Newton, BFGS and Adam on Rosenbrock: what each step costs and what it buys.",
        "Newton's method solves for the step with the Hessian (one Hessian per step), BFGS builds "
        "an estimate of it from successive gradients (no Hessian at all), and Adam uses "
        "gradients only. The table's evaluation counts show the price of each step; the paths "
        "show what it buys (Nocedal & Wright 2006, ch. 3 and 6).",
        "Newton reaches (1, 1) in about 6 steps using 6 Hessians; BFGS needs about 90 steps and "
        "no Hessian; Adam is not there after 100 steps.",
        AppState(
            landscape="rosenbrock",
            optimizers=(E("adam", lr=0.1), E("newton"), E("bfgs")),
            steps=100,
        ),
    ),
    Lesson(
        "momentum-bumps",
        "Momentum rolls over small bumps",
        "Momentum rolls over the ripples where gradient descent gets stuck.",
        "A bowl with ripples: gradient descent stops in the first ripple it meets, a local "
        "minimum. Momentum carries speed through the small bumps and reaches the centre; Adam's "
        "normalised steps do too.",
        "Gradient descent is 'trapped' in a ripple; momentum and Adam converge to the centre.",
        AppState(
            landscape="bumpy_bowl",
            optimizers=(E("gd", lr=0.01), E("momentum", lr=0.01), E("adam", lr=0.1)),
            steps=300,
        ),
    ),
    Lesson(
        "lion-sign-steps",
        "Lion's sign steps",
        "Every Lion step moves each coordinate by exactly lr.",
        "Lion (Chen et al. 2023) keeps a momentum like Adam's but steps along its sign: each "
        "coordinate moves by +lr or -lr, never more, never less. The gradient's size no longer "
        "sets the step, only its direction per axis: steep and flat axes get the same step, so "
        "the path runs at 45 degrees and ends zig-zagging within one lr of the minimum. Adam's "
        "steps, divided by a running RMS, shrink as it closes in.",
        "Lion's path is a staircase of equal diagonal steps that zig-zags at the end; Adam's "
        "steps change length and it settles.",
        _quadratic(E("lion", lr=0.02), E("adam", lr=0.02), steps=300),
    ),
    Lesson(
        "schedule-free",
        "Schedule-free SGD: no schedule needed",
        "Constant lr, noisy gradients: as close to the minimum as a cosine schedule.",
        "With noisy gradients a constant learning rate never settles: SGD jitters around the "
        "minimum. The usual cure is a decaying schedule, which needs the run's length in advance. "
        "Schedule-free SGD (Defazio et al. 2024) keeps the learning rate constant and takes each "
        "gradient between the SGD iterate and the running average of all iterates: the average "
        "damps the noise as a schedule would, with no length to choose.",
        "Constant-lr SGD hovers in a cloud; schedule-free SGD, same lr and noise, ends as close to "
        "the minimum as SGD with a cosine schedule.",
        _quadratic(
            E("sgd", lr=0.1, noise=1.0),
            E("sgd", lr=0.1, noise=1.0, schedule=Schedule("cosine")),
            E("schedulefree_sgd", lr=0.1, noise=1.0),
            steps=300,
        ),
    ),
    Lesson(
        "sam-wide-minimum",
        "SAM settles in a wide minimum",
        "SAM passes a narrow dip by and settles in the wide bowl.",
        "SAM (Foret et al. 2021) takes each gradient at the worst point within a radius rho of "
        "the current one. In a dip narrower than rho that point lies outside the dip, so SAM "
        "does not feel it and keeps sliding; it settles where the loss stays low all around, in a "
        "wide minimum. Wide minima are the ones that tend to generalise (Keskar et al. 2017). "
        "Here SAM wraps the same momentum SGD as the second run: only the gradient's place "
        "differs. Each SAM step costs two gradients.",
        "Gradient descent, momentum and Adam stop in the narrow dip ('trapped'); SAM with rho = "
        "0.3 rolls past it into the wide bowl at the centre.",
        AppState(
            landscape="sharp_wide",
            optimizers=(
                E("gd", lr=0.02),
                E("momentum", lr=0.02),
                E("adam", lr=0.02),
                E("sam", lr=0.02, momentum=0.9, rho=0.3),
            ),
            steps=400,
        ),
    ),
)

# Network surfaces (the "Network landscape" page): a small noisy two-moons set and a wide MLP,
# trained with full-batch Adam, so the model can memorise the training points.
_OVERFIT = NetworkState(
    dataset="moons",
    noise=0.35,
    samples=200,
    widths=(64, 64),
    optimizers=(NetOptimizer.make("adam", 0.01),),
    steps=300,
    batch_size=0,
    record_every=5,
)
LESSONS += (
    Lesson(
        "overfitting",
        "Overfitting and early stopping",
        "Training loss keeps falling while validation loss turns up: stop early.",
        "A network with about 4,500 weights and 150 noisy training points can memorise them. The "
        "training loss keeps falling, but the validation loss (points the network never trains "
        "on) reaches its minimum early and then climbs: the network is fitting the noise. "
        "Early stopping keeps the parameters from the step where the validation loss was lowest "
        "(Prechelt 1998). The page draws the validation-loss surface around the trained weights.",
        "The learning curves: training loss falls to nearly 0 while validation loss turns up "
        "after its minimum; the best validation step is marked.",
        replace(_OVERFIT, metric="val"),
    ),
    Lesson(
        "weight-decay",
        "Weight decay reshapes the surface",
        "A bowl added to the loss keeps the weights small and validation loss down.",
        "Weight decay adds (wd/2) ||theta||^2 to the training objective: a bowl centred at zero "
        "added to the network's loss surface. Its minimum moves towards small weights, where the "
        "function is smoother. On the same network and data as the overfitting lesson, wd = 0.01 "
        "keeps the weights small and the validation loss from climbing (Krogh & Hertz 1992).",
        "The surface around the trained weights is a rounder bowl; the validation loss stays "
        "near its minimum instead of rising. Compare with the overfitting lesson.",
        replace(_OVERFIT, weight_decay=0.01),
    ),
)

# Decision regions and image recognition on the network page (issue 18, items 3 and 5).
LESSONS += (
    Lesson(
        "decision-regions",
        "Two optimizers draw the boundary at different speeds",
        "Adam rounds its boundary on the circles while SGD's still cuts straight.",
        "The network sees points in the plane and must tell the inner circle from the outer ring: "
        "no straight line can. Beside the loss plane, each optimizer's decision regions show what "
        "its network predicts everywhere in the plane at the shown step. From the same "
        "initialization and the same mini-batches, Adam (lr 0.01) closes its boundary round the "
        "inner circle within about 45 steps, while SGD (lr 0.1) is still near a straight cut, "
        "with about 60 % of the validation points right; SGD gets there later, after about 100 "
        "steps. Press Play on the plane and watch the regions move with the paths.",
        "At the first recorded step where Adam classifies at least 95 % of the validation points "
        "right, SGD is at most 70 % right; at the end both are above 95 %.",
        NetworkState(
            dataset="circles",
            noise=0.1,
            samples=400,
            widths=(16, 16),
            optimizers=(NetOptimizer.make("sgd", 0.1), NetOptimizer.make("adam", 0.01)),
            steps=150,
            batch_size=32,
            record_every=5,
        ),
    ),
    Lesson(
        "digits-mistakes",
        "What a small CNN gets wrong on handwritten digits",
        "From chance to over 90 %: the confusion matrix and the mistakes at each step.",
        "A convolutional network with two layers of 3x3 filters learns to read 8x8 handwritten "
        "digits. At the initialization it guesses (about 1 in 10 right); after 150 steps of Adam "
        "it reads over 90 % of the validation images. Stop the plane's player on a step to see "
        "the confusion matrix there (rows: the true digit, columns: the prediction), the "
        "images it gets wrong, most confident mistakes first, and the first layer's filters, "
        "which start as noise and become small stroke detectors.",
        "At step 0 at most 25 % of the validation images are right; at the end at least 90 %, "
        "and the confusion matrix's diagonal holds them.",
        NetworkState(
            dataset="digits",
            model="cnn",
            optimizers=(NetOptimizer.make("adam", 0.01),),
            steps=150,
            record_every=5,
        ),
    ),
)

# Deep-learning phenomena (the "Deep learning" page), each its page's default view of one item
LESSONS += (
    Lesson(
        "vanishing-gradients",
        "Vanishing gradients in a deep sigmoid network",
        "10 sigmoid layers: the first layer's gradient is millions of times the smallest.",
        "Back-propagation multiplies the gradient by one factor per layer on its way from the "
        "output to the input: the transposed weights times the activation's slope. The sigmoid's "
        "slope is at most 1/4 and PyTorch's default weights have variance 1/(3 fan-in), so every "
        "factor shrinks the gradient and after ten layers almost nothing is left: the first "
        "layers do not learn and the loss stays at chance (Hochreiter 1991; Glorot & Bengio "
        "2010). ReLU with He initialization keeps the gradient's scale from layer to layer (He "
        "et al. 2015); batch norm and residual connections help too.",
        "The heat map's bottom rows (the first layers) are dark: their gradient is more than a "
        "hundred times smaller than the last layer's, and the loss does not fall. Click 'ReLU + "
        "He init': the heat map becomes even and the loss drops.",
        DeepState(),
    ),
    Lesson(
        "edge-of-stability",
        "The edge of stability",
        "Full-batch GD: the sharpness climbs to 2/η and then hovers there.",
        "On a quadratic, gradient descent with step η diverges along any direction whose "
        "curvature exceeds 2/η. Training a network with full-batch gradient descent, the "
        "sharpness (the largest eigenvalue of the loss's Hessian) first grows, 'progressive "
        "sharpening', until it reaches 2/η; then it stays near 2/η while the loss keeps falling, "
        "with spikes instead of a steady descent (Cohen et al. 2021).",
        "λ_max rises to the dashed 2/η line, overshoots, the loss spikes, and λ_max then stays "
        "within 10 % of 2/η to the end while the loss keeps falling.",
        DeepState(view="eos"),
    ),
    Lesson(
        "batch-size",
        "Batch size, gradient noise and the linear scaling rule",
        "Same epochs, same lr: big batches fall behind; scale lr with the batch.",
        "A mini-batch gradient is a noisy estimate of the full gradient: its mean squared error "
        "falls as 1/B with the batch size B. For the same number of epochs a larger batch takes "
        "fewer steps, so with the same learning rate it falls behind. The linear scaling rule "
        "multiplies the learning rate by B / 32 (Goyal et al. 2017): every batch size then makes "
        "about the same progress per epoch.",
        "Batch 128 ends with about twice the training loss of batch 8, and its gradient noise at "
        "the start is some 20 times smaller. Turn on the linear scaling rule: the three final "
        "training losses come within 10 % of each other.",
        DeepState(view="batch"),
    ),
)

BY_ID: dict[str, Lesson] = {lesson.id: lesson for lesson in LESSONS}
EXPLORER_LESSONS: tuple[Lesson, ...] = tuple(x for x in LESSONS if x.page == "views/explorer.py")


def get(lesson_id: str) -> Lesson:
    """The lesson with this id; raises KeyError naming the known ids."""
    try:
        return BY_ID[lesson_id]
    except KeyError:
        raise KeyError(f"unknown lesson {lesson_id!r}; known: {', '.join(BY_ID)}") from None
