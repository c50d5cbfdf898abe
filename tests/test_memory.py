"""A run maps its arrays on ordinary pages and gives numpy its own setting back afterwards."""

import numpy as np
import pytest

from toolkit.io.memory import _switch, ordinary_pages


@pytest.mark.skipif(_switch() is None, reason="this numpy has no huge-page switch")
def test_the_advice_is_off_inside_and_restored_after_even_on_error():
    switch = _switch()
    before = switch(True)  # whatever the process had, start from "advice on"
    try:
        with pytest.raises(RuntimeError):
            with ordinary_pages():
                with ordinary_pages():  # nested: still off
                    assert switch(False) is False
                assert switch(False) is False
                raise RuntimeError("a failed run")
        assert switch(True) is True  # restored
    finally:
        switch(before)
    assert np.zeros(3).sum() == 0
