"""Interactive explorers (ipywidgets) for the notebooks.

Each explorer is a *factory* returning an ipywidgets box, built on plain compute
functions that return tensors and numbers and are unit-tested without any widget:

- :mod:`sesmlib.widgets.energy`: the inverse-temperature slider of notebook 01 (the Gibbs
  density and the free energy over the plane) and the alpha_s / gain explorer of
  notebook 03 (the energy surface of a SESM trained on 2-D data);
- :mod:`sesmlib.widgets.sparsity`: the sparsity-penalty and alpha_s-sweep explorers of
  notebook 05.

Import the submodule you need (``from sesmlib.widgets import energy``); ipywidgets and
matplotlib are imported only when a widget or picture is made.

Examples
--------
>>> from sesmlib.widgets import sparsity
>>> sorted(sparsity.PENALTIES)
['h', 'l1_logistic', 'l1_z', 'log_z2']
"""
