"""Run the docstring examples of the instruments package with the instruments tests.

``pytest --doctest-modules`` only collects them when ``instruments/`` is on the command line
(it is not in ``testpaths``), so they are run here as well.
"""

from __future__ import annotations

import doctest

import pytest

from instruments import item_types, loader, measurement_model, scoring


@pytest.mark.parametrize("module", [item_types, loader, measurement_model, scoring])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
