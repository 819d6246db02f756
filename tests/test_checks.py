"""The notebook self-checks: each passes on agreeing input and, on disagreeing input, raises an
AssertionError whose message names what was expected, what was found, where and what to try."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.checks import check_close, check_equal, check_shape, check_true


def failure(fn, *args, **kwargs) -> str:
    """Run a check that must fail and return its message."""
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def field(message: str, label: str) -> str:
    """The text after `label:` in a failure message (expected / found / where / hint)."""
    for line in message.splitlines():
        if line.strip().startswith(f"{label}:"):
            return line.split(":", 1)[1].strip()
    raise KeyError(f"no {label!r} line in:\n{message}")


# check_shape ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x",
    [torch.zeros(2, 3, 4), np.zeros((2, 3, 4)), [[[0.0] * 4] * 3] * 2],
    ids=["torch", "numpy", "list"],
)
def test_check_shape_passes_on_matching_shape(x):
    check_shape(x, (2, 3, 4))
    check_shape(x, [2, 3, 4])
    check_shape(x, torch.Size([2, 3, 4]))


@pytest.mark.parametrize("wildcard", [-1, None])
def test_check_shape_wildcard_matches_any_size(wildcard):
    for batch in (1, 7):
        check_shape(torch.zeros(batch, 8, 24, 24), (wildcard, 8, 24, 24))


def test_check_shape_wildcard_does_not_excuse_other_dims():
    msg = failure(check_shape, torch.zeros(5, 8, 24, 24), (-1, 8, 28, 28), "feature map")
    assert msg.startswith("shape of feature map: check failed.")
    assert field(msg, "expected") == "(-1, 8, 28, 28)"
    assert field(msg, "found") == "(5, 8, 24, 24)"
    assert field(msg, "where") == "dim 2: 24 instead of 28, dim 3: 24 instead of 28"
    assert "print the shape" in field(msg, "hint")


def test_check_shape_reports_wrong_number_of_dims():
    msg = failure(check_shape, torch.zeros(3, 4), (1, 3, 4))
    assert field(msg, "where") == "2 dimensions instead of 3"
    assert field(msg, "found") == "(3, 4)"


def test_check_shape_custom_hint_replaces_default():
    msg = failure(check_shape, torch.zeros(3), (4,), hint="did you flatten?")
    assert field(msg, "hint") == "did you flatten?"


# check_close ------------------------------------------------------------------------------


def test_check_close_passes_within_tolerance():
    x = torch.linspace(-3, 3, 50, dtype=torch.float64)
    check_close(x + 1e-9, x)
    check_close(x.float(), x.numpy())  # dtypes and array types may differ
    check_close(0.1 + 0.2, 0.3)
    check_close([1.0, 2.0], (1.0, 2.0 + 1e-7))
    check_close(x * (1 + 1e-3), x, rtol=2e-3, atol=0)


def test_check_close_accepts_tensors_that_require_grad():
    w = torch.ones(3, requires_grad=True)
    check_close(w * 2, torch.full((3,), 2.0))


def test_check_close_nans_in_the_same_place_agree():
    nan = float("nan")
    check_close(torch.tensor([1.0, nan]), np.array([1.0, nan]))


def test_check_close_reports_the_largest_difference():
    expected = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    actual = expected.clone()
    actual[0, 1] += 0.01
    actual[1, 0] += 0.5
    msg = failure(check_close, actual, expected, "conv output")
    assert msg.startswith("conv output: check failed.")
    assert field(msg, "expected") == "3 at index (1, 0)"
    assert field(msg, "found") == "3.5"
    where = field(msg, "where")
    assert where.startswith("2 of 4 values differ")
    assert "largest difference 0.5" in where
    assert "allowed 1e-06 + 1e-05*|expected|" in where
    assert field(msg, "hint")


def test_check_close_tolerance_is_relative_to_expected():
    # Allowed: 1e-6 + 1e-5 * |expected|. For 1000 that is about 1e-2, so 1e-3 off passes;
    # for 1 it is about 1.1e-5, so the same 1e-3 fails.
    check_close(1000.001, 1000.0)
    msg = failure(check_close, 1.001, 1.0)
    assert "1 of 1 values differ" in field(msg, "where")
    assert field(msg, "expected") == "1 at index ()"


def test_check_close_nan_mismatch_is_named():
    msg = failure(
        check_close, torch.tensor([1.0, 2.0, float("nan")]), torch.tensor([1.0, 2.0, 3.0]), "loss"
    )
    assert field(msg, "expected") == "3.0 at index (2,)"
    assert field(msg, "found") == "nan"
    assert field(msg, "where") == "1 NaN value(s) where the other side has a number"
    assert "NaN" in field(msg, "hint")


def test_check_close_nan_expected_but_number_found():
    msg = failure(check_close, torch.tensor([0.5, 2.0]), torch.tensor([0.5, float("nan")]))
    assert field(msg, "expected") == "nan at index (1,)"
    assert field(msg, "found") == "2.0"


def test_check_close_infinities():
    inf = math.inf
    check_close(torch.tensor([inf, -inf]), torch.tensor([inf, -inf]))
    failure(check_close, torch.tensor([inf]), torch.tensor([-inf]))
    failure(check_close, torch.tensor([inf]), torch.tensor([1.0]))
    failure(check_close, torch.tensor([1.0]), torch.tensor([inf]))


def test_check_close_shape_mismatch_is_not_broadcast():
    msg = failure(check_close, torch.zeros(3), torch.zeros(1, 3), "logits")
    assert field(msg, "expected") == "shape (1, 3)"
    assert field(msg, "found") == "shape (3,)"
    assert "shapes differ" in field(msg, "where")
    assert "sizes" in field(msg, "hint")


def test_check_close_custom_hint():
    msg = failure(check_close, 1.0, 2.0, hint="did you add the bias?")
    assert field(msg, "hint") == "did you add the bias?"


# check_equal ------------------------------------------------------------------------------


def test_check_equal_passes_on_equal_values():
    check_equal(3, 3)
    check_equal("abc", "abc")
    check_equal((8, 1, 5, 5), (8, 1, 5, 5))
    check_equal(torch.Size([8, 1, 5, 5]), (8, 1, 5, 5))
    check_equal(torch.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3))


def test_check_equal_scalar_message():
    msg = failure(check_equal, 24, 28, "output width")
    assert msg.startswith("output width: check failed.")
    assert field(msg, "expected") == "28"
    assert field(msg, "found") == "24"


def test_check_equal_sequence_reports_first_difference():
    msg = failure(check_equal, (8, 1, 3, 3), (8, 1, 5, 5), "weight shape")
    assert field(msg, "where") == "first difference at position 2: 3 instead of 5"


def test_check_equal_sequence_length_difference():
    msg = failure(check_equal, [1, 2, 3], [1, 2])
    assert field(msg, "where") == "length 3 instead of 2"


def test_check_equal_same_items_in_another_container_fails_with_assertion():
    msg = failure(check_equal, (1, 2), [1, 2])
    assert field(msg, "where") == "same items, but a tuple instead of a list"


def test_check_equal_tensor_reports_index_and_count():
    expected = torch.tensor([[0, 1], [2, 3]])
    actual = torch.tensor([[0, 1], [5, 7]])
    msg = failure(check_equal, actual, expected, "im2col", hint="check the column order")
    assert field(msg, "expected") == "2 at index (1, 0)"
    assert field(msg, "found") == "5"
    assert field(msg, "where") == "2 of 4 entries differ"
    assert field(msg, "hint") == "check the column order"


def test_check_equal_tensor_shape_mismatch():
    msg = failure(check_equal, torch.zeros(2, 2), torch.zeros(4))
    assert field(msg, "expected") == "shape (4,)"
    assert field(msg, "found") == "shape (2, 2)"
    assert field(msg, "where") == "the shapes differ"


# check_true -------------------------------------------------------------------------------


def test_check_true_passes():
    check_true(True, "always")
    check_true(torch.tensor(True), "a 0-d tensor")
    check_true(np.bool_(True), "a numpy bool")
    check_true(torch.tensor([1.0, 2.0]).gt(0).all(), "all positive")


def test_check_true_failure_message():
    msg = failure(check_true, 0.9 < 0.5, "the loss falls below 0.5", "loss 0.9", "train longer")
    assert msg.startswith("the loss falls below 0.5: check failed.")
    assert field(msg, "expected") == "the claim holds"
    assert field(msg, "found") == "loss 0.9"
    assert field(msg, "hint") == "train longer"


def test_check_true_default_found():
    msg = failure(check_true, False, "a claim")
    assert field(msg, "found") == "it does not"


def test_check_true_rejects_many_values_with_a_clear_error():
    with pytest.raises(TypeError, match=r"\.all\(\)"):
        check_true(torch.tensor([True, False]), "every entry is positive")


# verdict ------------------------------------------------------------------------------------


def test_verdict_says_not_attempted_while_the_answer_is_none(capsys):
    from helpers.checks import verdict

    assert verdict(None, 784, "count weights") is None
    assert "not attempted" in capsys.readouterr().out.lower()


def test_verdict_right_and_wrong_without_revealing_the_answer(capsys):
    from helpers.checks import verdict

    assert verdict(614656, 614656, "784 x 784") is True
    assert capsys.readouterr().out.strip() == "Right!"
    assert verdict(614000, 614656, "784 x 784") is False
    out = capsys.readouterr().out
    assert "Not right yet" in out and "784 x 784" in out and "614656" not in out


def test_verdict_tolerance_tensors_and_predicates(capsys):
    from helpers.checks import verdict

    assert verdict(0.333, 1 / 3, "a third", rtol=0.01) is True
    assert verdict(0.3, 1 / 3, "a third", rtol=0.01) is False
    assert verdict(torch.ones(2, 3), torch.ones(2, 3), "ones") is True
    assert verdict(torch.ones(3, 2), torch.ones(2, 3), "ones") is False  # a shape error is "wrong"
    assert verdict("Worse", lambda a: a.lower() == "worse", "think of depth") is True
    assert "shape" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [None, "0.5", [[1, 2], [3]]])
def test_an_answer_that_is_not_numbers_fails_the_check_in_plain_words(answer):
    """A student's variable still None (or a string, or a ragged list) fails the self-check
    with what was found, not with a NumPy or torch error."""
    with pytest.raises(AssertionError, match=r"mean: check failed[\s\S]*expected: a tensor"):
        check_close(answer, torch.tensor([0.5]), "mean")
    with pytest.raises(AssertionError, match="found:"):
        check_shape(answer, (2,), "mean")


def test_misplaced_arguments_of_the_checks_are_named():
    with pytest.raises(TypeError, match="pass tolerances by keyword"):
        check_close(torch.tensor([1.0]), torch.tensor([1.0005]), 1e-3)
    with pytest.raises(TypeError, match="needs one True/False value"):
        check_true([True, False], "all hold")
    with pytest.raises(TypeError, match="the claim is a sentence"):
        check_true("the loss falls", False)
    check_shape(torch.zeros(64, 10).shape, (64, 10), "logits shape")  # a torch.Size works too
