"""The lessons: numbered jupytext percent-format scripts, shipped inside the package.

``minigrad/lessons`` is a link to this folder, so ``minigrad lesson N`` finds them after a plain
``pip install .`` as well as in a clone. Run one as ``python lessons/05_vanishing_gradient.py``
(add ``--quick`` for the few-second setting, ``--out DIR`` for where figures go).
"""
