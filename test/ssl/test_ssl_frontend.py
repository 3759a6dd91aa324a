import pytest
import torch

from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2_ext.ssl import SSLUpstream
from espnet2_ext.ssl.frontend import SSLWeightedSumFrontend


def test_shapes_and_output_size():
    fe = SSLWeightedSumFrontend(fs="16k", upstream="tiny")
    assert isinstance(fe, AbsFrontend)
    assert fe.output_size() == 64
    assert fe.layers == [0, 1, 2, 3]  # layer 0 included by default
    wav = torch.randn(3, 9000)
    lens = torch.tensor([9000, 6000, 4000])
    feats, flen = fe(wav, lens)
    assert feats.shape == (3, 27, 64)
    assert flen.tolist() == fe.upstream.frame_lengths(lens).tolist() == [27, 18, 12]
    for b in range(3):
        assert torch.count_nonzero(feats[b, flen[b] :]) == 0


def test_uniform_initial_weights_give_layer_average():
    fe = SSLWeightedSumFrontend(upstream="tiny", layers=[1, 3])
    wav = torch.randn(2, 5000)
    feats, _ = fe(wav, torch.tensor([5000, 5000]))
    ref, _ = SSLUpstream("tiny", layers=[1, 3])(wav)
    torch.testing.assert_close(feats, ref)
    torch.testing.assert_close(fe.layer_weights(), torch.tensor([0.5, 0.5]))


def test_weights_get_gradient_upstream_does_not():
    fe = SSLWeightedSumFrontend(upstream="tiny", layer_norm=True)
    fe.train()
    assert not fe.upstream.training
    wav = torch.randn(2, 6000)
    feats, flen = fe(wav, torch.tensor([6000, 3000]))
    assert torch.count_nonzero(feats[1, flen[1] :]) == 0
    (feats * torch.randn_like(feats)).sum().backward()
    assert fe.weights.grad is not None and fe.weights.grad.abs().sum() > 0
    assert all(p.grad is None for p in fe.upstream.parameters())
    assert [n for n, p in fe.named_parameters() if p.requires_grad] == ["weights"]


def test_unfrozen_upstream_gets_gradient():
    fe = SSLWeightedSumFrontend(upstream="tiny", freeze_upstream=False)
    fe.train()
    assert fe.upstream.training
    feats, _ = fe(torch.randn(1, 4000), torch.tensor([4000]))
    feats.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in fe.upstream.parameters())


def test_bad_arguments():
    with pytest.raises(ValueError, match="16000"):
        SSLWeightedSumFrontend(fs=8000)
    with pytest.raises(ValueError):
        SSLWeightedSumFrontend(layers=[9])
    with pytest.raises(ValueError, match="must not set"):
        SSLWeightedSumFrontend(upstream_conf={"layers": 1})
    fe = SSLWeightedSumFrontend(upstream_conf={"seed": 5})
    with pytest.raises(ValueError, match="batch, samples"):
        fe(torch.randn(1, 4000, 2), torch.tensor([4000]))


def test_inside_espnet_asr_model():
    from espnet2.asr.ctc import CTC
    from espnet2.asr.encoder.rnn_encoder import RNNEncoder
    from espnet2.asr.espnet_model import ESPnetASRModel

    token_list = ["<blank>", "<unk>", "a", "b", "<sos/eos>"]
    fe = SSLWeightedSumFrontend(upstream="tiny")
    enc = RNNEncoder(fe.output_size(), num_layers=1, hidden_size=16, output_size=16, subsample=None)
    model = ESPnetASRModel(
        vocab_size=len(token_list),
        token_list=token_list,
        frontend=fe,
        specaug=None,
        normalize=None,
        preencoder=None,
        encoder=enc,
        postencoder=None,
        decoder=None,
        ctc=CTC(len(token_list), 16),
        joint_network=None,
        ctc_weight=1.0,
        report_cer=False,
        report_wer=False,
    )
    model.train()
    speech = torch.randn(2, 8000)
    loss, stats, _ = model(
        speech=speech,
        speech_lengths=torch.tensor([8000, 6000]),
        text=torch.tensor([[2, 3], [2, -1]]),
        text_lengths=torch.tensor([2, 1]),
    )
    loss.backward()
    assert torch.isfinite(loss)
    assert fe.weights.grad is not None
    assert all(p.grad is None for p in fe.upstream.parameters())
