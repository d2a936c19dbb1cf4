"""Supervision statistics: the figures a justice bureau reports upward, computed from the read model.

``figures`` holds the one definition of every figure; the console, the exports and the
``lawlink report`` command all call :func:`services.statistics.figures.compute`.
"""
