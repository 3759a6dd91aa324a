import pytest
import torch

from espnet2_ext.enh.lengths import (
    current_lengths,
    lengths_from_padding,
    resolve_lengths,
    utterance_lengths,
)


def _padded(lengths, T):
    x = torch.randn(len(lengths), T)
    for b, n in enumerate(lengths):
        x[b, n:] = 0
    return x


def test_explicit_lengths_win():
    x = _padded([5, 8], 8)
    with utterance_lengths(torch.tensor([3, 4])):
        assert resolve_lengths(x, torch.tensor([6, 7])).tolist() == [6, 7]


def test_context_lengths_used_when_they_fit():
    x = _padded([5, 8], 8)
    assert current_lengths() is None
    with utterance_lengths(torch.tensor([6, 8])):
        assert resolve_lengths(x).tolist() == [6, 8]
        with utterance_lengths(torch.tensor([2, 3])):
            assert resolve_lengths(x).tolist() == [2, 3]
        assert current_lengths().tolist() == [6, 8]
    assert current_lengths() is None


def test_context_of_another_batch_falls_back_to_padding():
    x = _padded([5, 8], 8)
    with utterance_lengths(torch.tensor([6, 8, 8])):  # batch size differs
        assert resolve_lengths(x).tolist() == [5, 8]
    with utterance_lengths(torch.tensor([6, 9])):  # longer than the signals
        assert resolve_lengths(x).tolist() == [5, 8]


def test_fallback_from_zero_padding():
    x = _padded([3, 10, 1], 10)
    x[2] = 0  # all-zero utterance: whole length
    assert lengths_from_padding(x).tolist() == [3, 10, 10]
    assert resolve_lengths(x).tolist() == [3, 10, 10]


@pytest.mark.parametrize("bad", [[0, 4], [4, 11], [1, 2, 3]])
def test_bad_explicit_lengths(bad):
    with pytest.raises(ValueError, match="lengths"):
        resolve_lengths(torch.zeros(2, 10), torch.tensor(bad))
