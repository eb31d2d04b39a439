"""Chart builders: pure functions from the engine's numpy results to Plotly figures (or table rows).

What lives where:

* ``runtime``: figures as plain dicts (``RawFigure``, ``FramedFigure``), typed arrays, the
  default template, the caches of figures and per-run pieces (``clear_caches``);
* ``style``: the Okabe-Ito palette, marker symbols, font and plot sizes, number and point texts;
* ``surface``: colour levels and their ticks, the banded surface image, its colour bar;
* ``player``: which steps become frames, legend names along the steps, the player's spec;
* ``paths``: each run's path in the 2-D view, its moving marker, tail, step arrows and boxes;
* ``contour``: the explorer's 2-D view (also the network page's plane of optimizers);
* ``explorer``: the explorer's 3-D view, loss curves and status table;
* ``network``, ``diagnostics``, ``search``: the charts of the other pages.

A module never imports another's private names: what two modules share is public here.
"""
