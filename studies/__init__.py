"""Studies built on the runner and the surfaces: what the engine finds out by running optimizers.

- ``studies.analysis``: learning-rate sweeps, basins of attraction, quadratic stability theory,
  momentum rate maps, local curvature, stability verdicts, auto-tuning of the learning rate.
- ``studies.tuning``: hyperparameter searches (Optuna's samplers) on a surface or a network.
- ``studies.training``: training a network with several optimizers at once, through the runner.
- ``studies.gradient_flow``: per-layer gradient norms through training (vanishing/exploding).
- ``studies.edge_of_stability``: full-batch gradient descent with the sharpness against 2/eta.
- ``studies.batch_size``: gradient noise, generalization gap and linear scaling by batch size.

Imports point one way: ``studies`` uses ``optimizers`` and ``landscapes``; neither uses it. The
package imports no submodule on its own (tuning loads Optuna): import the one you need.

>>> from studies import analysis
>>> analysis.quadratic_theory([0.1, 10.0]).gd_critical_lr
0.2
"""
