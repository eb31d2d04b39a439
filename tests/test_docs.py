"""The examples in the package docstrings run and print what they claim."""

import doctest

import pytest

import landscapes
import optimizers
import studies


@pytest.mark.parametrize("module", [landscapes, optimizers, studies], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0
