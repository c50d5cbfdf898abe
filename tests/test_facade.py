"""The public facade: every advertised name resolves, and the names are alphabetical."""

import toolkit


def test_every_public_name_resolves_to_a_real_object():
    for name in toolkit.__all__:
        assert getattr(toolkit, name) is not None, name


def test_the_facade_is_short_and_alphabetical():
    assert toolkit.__all__ == sorted(toolkit.__all__)
    assert len(toolkit.__all__) <= 20


def test_facade_and_modules_hand_out_the_same_objects():
    from toolkit.reconcile import ReconciliationResult
    from toolkit.simulate import simulate_returns

    assert toolkit.simulate_returns is simulate_returns
    assert toolkit.ReconciliationResult is ReconciliationResult
