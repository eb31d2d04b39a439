"""Hostile links for every page: the keys each page reads and the values a hostile student (or a
broken copy-paste) puts in them. Shared by the decoder fuzz and the AppTest fuzz."""

from __future__ import annotations

import random

# hosts and words that only a hostile value carries: any of them outside literal text is a leak
MARKERS = ("evil.example", "tracker.example", "INJECTED")

HOSTILE_TEXT = (
    "[Log in again](https://evil.example/login)",
    "![t](https://evil.example/pixel.png)",
    "<img src=https://tracker.example/p.png onerror=alert(1)>",
    "<script>alert('INJECTED')</script>",
    "**INJECTED** _x_ `code` # heading",
    ":red[INJECTED] :material/home: :smile: $\\frac{1}{0}$",
    "https://evil.example/auto www.evil.example",
    "\u202eINJECTED\u200b\u0000\n\n# heading",
    "x**2 + y**2 # ![t](https://evil.example/p.png) [sign in](https://evil.example)",
    "INJECTED" * 12_500,  # 100 KB
    "é" * 300 + "漢字🙂",
    "１２",  # full-width digits
)
EDGE_NUMBERS = (
    "-0",
    "0",
    "1",
    "9",
    "-1",
    "+3",
    "2.5",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "99999999999999999999",
    "0x10",
    "1_000",
    " 5 ",
    "",
    "1,2",
    "1,2,3,4",
    "-0,-0",
    "nan,nan",
)

EXPLORER_KEYS = (
    "v", "ls", "lp", "fx", "dom", "o", "start", "steps", "seed", "k", "log", "view3d", "curves",
    "arrows", "curv", "lesson", "hide", "lock", "present", "theme",
)  # fmt: skip
SWEEP_KEYS = (*EXPLORER_KEYS, "lrlo", "lrhi", "nlr", "obj")
BASIN_KEYS = (*EXPLORER_KEYS, "grid")
NETWORK_KEYS = (
    "v", "data", "noise", "n", "model", "w", "bn", "drop", "seed", "o", "steps", "bs", "rec", "wd",
    "plane", "dseed", "bias", "orth", "c", "span", "res", "metric", "view3d", "popt", "k",
)  # fmt: skip
SEARCH_KEYS = (
    "v", "prob", "ls", "lp", "opt", "hp", "lr", "hpr", "n", "s", "seed", "steps", "start", "batch",
    "data", "noise", "ns", "widths", "nsteps", "mb",
)  # fmt: skip
# values that name real things, so that a fuzzed link also reaches the code behind a valid key
PLAUSIBLE = {
    "ls": ("himmelblau", "rosenbrock", "custom", "saddle"),
    "o": (
        "adam,lr=1e308",
        "newton,damping=-0",
        "sgd,lr=nan,noise=inf",
        "adam,betas=0.9",
        "gd",
        "adam,schedule=step,step_size=0,gamma=1e-9",
        "momentum,schedule=cosine,t_max=1e308,eta_min=-0",
        "rmsprop,schedule=warmup_cosine,warmup=99999999,start_factor=2",
        "adam,lr=0.1,schedule=warmup,warmup=2000,start_factor=1e-6",
    ),
    "fx": ("x**2 + 10*y**2", "open('/etc/passwd')", "__import__('os')", "x" * 400, "9**9**9"),
    "lp": ("b:-0", "a:nan,b:1e308", "zz:1"),
    "data": ("moons", "digits", "spirals"),
    "model": ("mlp", "cnn"),
    "prob": ("surface", "network"),
    "opt": ("adam", "newton", "lbfgs"),
    "s": ("grid,random", "tpe,cmaes,hill"),
    "hide": ("optimizers,warp", "share,lessons"),
    "lock": ("landscape", "start,steps"),
}


def hostile_value(rng: random.Random, key: str) -> str | list[str]:
    """One value for ``key``: an edge number, a hostile text, a plausible value, or the key
    repeated with several of these."""
    pools = [EDGE_NUMBERS, HOSTILE_TEXT, PLAUSIBLE.get(key, EDGE_NUMBERS)]
    if rng.random() < 0.1:
        return [rng.choice(rng.choice(pools)) for _ in range(rng.randint(2, 4))]
    return rng.choice(rng.choice(pools))


def hostile_query(rng: random.Random, keys: tuple[str, ...], share: float) -> dict:
    """A link that sets about ``share`` of ``keys`` (always at least one) to hostile values, plus
    sometimes an unknown key."""
    chosen = [k for k in keys if rng.random() < share] or [rng.choice(keys)]
    query: dict[str, str | list[str]] = {k: hostile_value(rng, k) for k in chosen}
    if rng.random() < 0.2:
        query[rng.choice(HOSTILE_TEXT)[:50]] = rng.choice(HOSTILE_TEXT)
    return query
