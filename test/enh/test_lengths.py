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


def test_single_utterance_calls_take_their_own_length_from_the_context():
    # ESPnet's pit with independent_perm: false calls the criterion with
    # ref[s][b].unsqueeze(0): the length must be utterance b's, even when the
    # reference ends in digital silence before its end
    lengths = torch.tensor([6, 10, 8])
    spk1 = _padded([6, 10, 8], 10)
    spk2 = _padded([6, 10, 8], 10)
    spk1[1, 7:] = 0.0  # utterance 1 of speaker 1 ends in 3 samples of silence
    with utterance_lengths(lengths, [spk1, spk2]):
        for s, ref in enumerate((spk1, spk2)):
            for b in range(3):
                got = resolve_lengths(ref[b].unsqueeze(0))
                assert got.tolist() == [lengths[b].item()], (s, b)
        # any sub-batch, in any order
        assert resolve_lengths(spk1[[2, 1]]).tolist() == [8, 10]
    # without the signals, the same call falls back to the zero padding
    with utterance_lengths(lengths):
        assert resolve_lengths(spk1[1].unsqueeze(0)).tolist() == [7]


def test_multichannel_reference_signals_are_matched_per_channel():
    lengths = torch.tensor([5, 9])
    ref = torch.randn(2, 9, 2)
    ref[0, 5:] = 0.0
    ref[0, 3:5, 1] = 0.0  # channel 1 of utterance 0 ends early
    with utterance_lengths(lengths, [ref]):
        assert resolve_lengths(ref[0, :, 1].unsqueeze(0)).tolist() == [5]


def test_unmatched_sub_batch_warns_once_and_falls_back(caplog, monkeypatch):
    import espnet2_ext.enh.lengths as L

    monkeypatch.setattr(L, "_warned", False)
    lengths = torch.tensor([6, 10])
    refs = [_padded([6, 10], 10)]
    stranger = _padded([4], 10)
    with caplog.at_level("WARNING"), utterance_lengths(lengths, refs):
        assert resolve_lengths(stranger).tolist() == [4]
        assert resolve_lengths(stranger).tolist() == [4]
    warnings = [r for r in caplog.records if "not among the current forward_loss batch" in r.message]
    assert len(warnings) == 1
