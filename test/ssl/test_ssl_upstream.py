import urllib.error

import pytest
import torch
from torchaudio.models import wav2vec2_model, wavlm_model

from espnet2_ext.ssl import (
    BUNDLES,
    TINY_PARAMS,
    UPSTREAM_NAMES,
    SSLCheckpointError,
    SSLDownloadError,
    SSLUpstream,
    build_upstream,
    save_checkpoint,
)


@pytest.fixture(scope="module")
def tiny():
    return SSLUpstream("tiny", layers="all")


def small_params(mode="layer_norm", wavlm=False, layer_norm_first=False):
    p = dict(TINY_PARAMS)
    p.update(
        extractor_mode=mode,
        extractor_conv_bias=(mode == "layer_norm"),
        encoder_layer_norm_first=layer_norm_first,
        encoder_num_layers=2,
    )
    if wavlm:
        p.update(encoder_num_buckets=32, encoder_max_distance=64)
    return p


def random_model(mode="layer_norm", wavlm=False, layer_norm_first=False, seed=3):
    g = torch.random.fork_rng(devices=[])
    with g:
        torch.manual_seed(seed)
        builder = wavlm_model if wavlm else wav2vec2_model
        return builder(**small_params(mode, wavlm, layer_norm_first))


def batch_with_garbage(utts, T=None, fill=3.0):
    T = T or max(u.shape[-1] for u in utts)
    wav = torch.full((len(utts), T), fill)
    for i, u in enumerate(utts):
        wav[i, : u.shape[-1]] = u
    return wav, torch.tensor([u.shape[-1] for u in utts])


# ---------------------------------------------------------------- attributes


def test_names_and_attributes(tiny):
    assert set(BUNDLES) <= set(UPSTREAM_NAMES)
    for n in ("hubert_base", "wavlm_large", "wav2vec2_asr_base_960h", "tiny", "checkpoint:"):
        assert n in UPSTREAM_NAMES
    assert tiny.hop_length == 320
    assert tiny.sample_rate == 16000
    assert tiny.min_samples == 400
    assert tiny.num_layers == 3
    assert tiny.feature_dim == 64


def test_shapes_and_hop(tiny):
    up = SSLUpstream("tiny")
    wav = torch.randn(3, 16000)
    feats, flen = up(wav)
    assert feats.shape == (3, 49, 64)
    assert flen.dtype == torch.long and flen.tolist() == [49, 49, 49]
    layers, flen2 = up.extract_layers(wav)
    assert len(layers) == up.num_layers + 1
    assert all(h.shape == (3, 49, 64) for h in layers)
    assert torch.equal(flen, flen2)
    # default layers="last" is the last hidden state
    assert torch.equal(feats, layers[-1])


def test_frame_lengths_match_conv_stack(tiny):
    lengths = list(range(400, 2400, 23)) + [719, 720, 721, 16000, 16319, 16320, 32000]
    fe = tiny.model.feature_extractor
    predicted = tiny.frame_lengths(torch.tensor(lengths))
    for L, p in zip(lengths, predicted.tolist()):
        with torch.no_grad():
            out, _ = fe(torch.zeros(1, L), None)
        assert out.shape[1] == p, L
        assert p == (L - 400) // 320 + 1
    assert tiny.frame_lengths(torch.tensor([399, 0])).tolist() == [0, 0]


def test_min_samples_boundary(tiny):
    feats, flen = tiny(torch.randn(1, 400))
    assert feats.shape[1] == 1 and flen.tolist() == [1]
    with pytest.raises(ValueError, match=r"Utterance 0 has 399 samples"):
        tiny(torch.randn(1, 399))


def test_padded_frames_are_exactly_zero(tiny):
    torch.manual_seed(0)
    wav, lens = batch_with_garbage([torch.randn(5000), torch.randn(12000), torch.randn(800)])
    layers, flen = tiny.extract_layers(wav, lens)
    assert flen.tolist() == tiny.frame_lengths(lens).tolist()
    for h in layers:
        for b in range(3):
            assert torch.count_nonzero(h[b, flen[b] :]) == 0
            assert torch.count_nonzero(h[b, : flen[b]].abs().sum(-1)) == flen[b]
    feats, _ = SSLUpstream("tiny", l2_normalize=True)(wav, lens)
    assert torch.count_nonzero(feats[2, flen[2] :]) == 0


# ------------------------------------------------------- padding invariance


@pytest.mark.parametrize("wavlm", [False, True], ids=["wav2vec2", "wavlm"])
@pytest.mark.parametrize("mode", ["group_norm", "layer_norm"])
@pytest.mark.parametrize("normalize_waveform", [False, True])
def test_padding_invariance(mode, wavlm, normalize_waveform):
    up = SSLUpstream(
        random_model(mode, wavlm, layer_norm_first=(mode == "layer_norm")),
        layers="all",
        normalize_waveform=normalize_waveform,
    )
    torch.manual_seed(1)
    a, b, c = torch.randn(6000), 4 * torch.randn(16000), torch.randn(9000) + 0.5
    wav, lens = batch_with_garbage([a, b, c], fill=7.0)
    batched, flen = up.extract_layers(wav, lens)
    for i, u in enumerate((a, b, c)):
        alone, fl = up.extract_layers(u[None])
        assert fl.item() == flen[i].item()
        for h_b, h_a in zip(batched, alone):
            torch.testing.assert_close(h_b[i, : flen[i]], h_a[0], atol=2e-5, rtol=1e-4)


def test_stock_group_norm_is_not_padding_invariant():
    # documents why the upstream re-implements the conv stack
    model = random_model("group_norm").eval()
    torch.manual_seed(1)
    a, b = torch.randn(6000), torch.randn(16000)
    wav, lens = batch_with_garbage([a, b], fill=0.0)
    with torch.no_grad():
        stock, fl = model.extract_features(wav, lens)
        alone, _ = model.extract_features(a[None])
    assert (stock[-1][0, : fl[0]] - alone[-1][0]).abs().max() > 1e-2


@pytest.mark.parametrize("wavlm", [False, True], ids=["wav2vec2", "wavlm"])
@pytest.mark.parametrize("mode", ["group_norm", "layer_norm"])
def test_unpadded_matches_torchaudio(mode, wavlm):
    model = random_model(mode, wavlm)
    up = SSLUpstream(model, layers="all")
    wav = torch.randn(2, 8000)
    ours, _ = up.extract_layers(wav)
    with torch.no_grad():
        ref, _ = model.extract_features(wav)
    assert len(ref) == up.num_layers == len(ours) - 1
    for o, r in zip(ours[1:], ref):
        torch.testing.assert_close(o, r, atol=1e-5, rtol=1e-5)


# -------------------------------------------------------------------- frozen


def test_frozen_and_gradient_reaches_wav():
    up = SSLUpstream("tiny")
    parent = torch.nn.Sequential(up, torch.nn.Identity())
    parent.train()
    assert not up.training and not up.model.training
    assert all(not m.training for m in up.modules())
    assert all(not p.requires_grad for p in up.parameters())
    parent.requires_grad_(True)  # a careless parent; forward re-freezes
    wav = torch.randn(2, 4000, requires_grad=True)
    feats, _ = up(wav, torch.tensor([4000, 3000]))
    feats.pow(2).sum().backward()
    assert wav.grad is not None and wav.grad[0].abs().sum() > 0
    assert wav.grad[1, 3000:].abs().sum() == 0  # padding does not influence the output
    assert all(p.grad is None for p in up.parameters())


def test_unfrozen_upstream_trains():
    up = SSLUpstream("tiny", freeze=False)
    up.train()
    assert up.training
    feats, _ = up(torch.randn(1, 2000))
    feats.sum().backward()
    assert any(p.grad is not None for p in up.parameters())


# ----------------------------------------------------------- layer selection


def test_layer_selection(tiny):
    wav = torch.randn(2, 6000)
    hidden, _ = tiny.extract_layers(wav)
    f_int, _ = SSLUpstream("tiny", layers=1)(wav)
    torch.testing.assert_close(f_int, hidden[1])
    f0, _ = SSLUpstream("tiny", layers=0)(wav)
    torch.testing.assert_close(f0, hidden[0])
    f_list, _ = SSLUpstream("tiny", layers=[1, 3])(wav)
    torch.testing.assert_close(f_list, (hidden[1] + hidden[3]) / 2)
    f_last, _ = SSLUpstream("tiny", layers="last")(wav)
    torch.testing.assert_close(f_last, hidden[3])
    f_neg, _ = SSLUpstream("tiny", layers=-2)(wav)
    torch.testing.assert_close(f_neg, hidden[2])
    f_all, _ = SSLUpstream("tiny", layers="all")(wav)
    torch.testing.assert_close(f_all, torch.stack(hidden).mean(0))
    assert not torch.allclose(f_int, f_last)
    for bad in (4, -5, [], "first", [1.5]):
        with pytest.raises(ValueError):
            SSLUpstream("tiny", layers=bad)


def test_l2_normalisation():
    wav, lens = batch_with_garbage([torch.randn(5000), torch.randn(9000)])
    raw, flen = SSLUpstream("tiny")(wav, lens)
    feats, flen = SSLUpstream("tiny", l2_normalize=True)(wav, lens)
    norms = feats.norm(dim=-1)
    for b in range(2):
        torch.testing.assert_close(norms[b, : flen[b]], torch.ones(int(flen[b])))
        assert norms[b, flen[b] :].abs().sum() == 0
    torch.testing.assert_close(feats[1], raw[1] / raw[1].norm(dim=-1, keepdim=True))


# --------------------------------------------------------------------- tiny


def test_tiny_deterministic_and_rng_untouched():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a = SSLUpstream("tiny")
    assert torch.equal(state, torch.random.get_rng_state())
    b = build_upstream("tiny")
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    c = SSLUpstream("tiny", seed=7)
    assert not torch.equal(a.model.encoder.feature_projection.projection.weight,
                           c.model.encoder.feature_projection.projection.weight)


def test_tiny_is_fast():
    import time

    up = SSLUpstream("tiny")
    wav = torch.randn(16, 32000, requires_grad=True)
    up(wav)[0].mean().backward()  # warm-up
    t0 = time.perf_counter()
    up(wav)[0].pow(2).mean().backward()
    assert time.perf_counter() - t0 < 5.0  # ~0.2 s on 2 idle cores; generous for shared CI


# ---------------------------------------------------------------- checkpoints


def test_save_checkpoint_round_trip(tmp_path):
    up = SSLUpstream("tiny", seed=11)
    path = tmp_path / "sub" / "tiny.pt"
    save_checkpoint(up, str(path))
    loaded = SSLUpstream(f"checkpoint:{path}", layers=[1, 2])
    ref = SSLUpstream("tiny", seed=11, layers=[1, 2])
    norm = lambda d: {k: ([tuple(c) for c in v] if isinstance(v, list) else v) for k, v in d.items()}  # noqa: E731
    assert norm(loaded.arch_params) == norm(ref.arch_params)
    for k, v in up.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])
    wav = torch.randn(2, 5000)
    torch.testing.assert_close(loaded(wav)[0], ref(wav)[0], atol=0, rtol=0)
    obj = torch.load(path, weights_only=True)  # plain data + tensors only
    assert obj["model_type"] == "Wav2Vec2"


def test_save_checkpoint_round_trip_wavlm_group_norm(tmp_path):
    model = random_model("group_norm", wavlm=True)
    up = SSLUpstream(model, normalize_waveform=True)
    path = tmp_path / "wavlm.pt"
    save_checkpoint(up, str(path))
    loaded = SSLUpstream(f"checkpoint:{path}")
    assert loaded.is_wavlm and loaded.normalize_waveform
    wav, lens = batch_with_garbage([torch.randn(5000), torch.randn(7000)])
    torch.testing.assert_close(loaded(wav, lens)[0], up(wav, lens)[0], atol=0, rtol=0)


@pytest.mark.parametrize("wrapped", [False, True])
def test_torchaudio_state_dict_with_arch(tmp_path, wrapped):
    params = small_params("group_norm")
    model = random_model("group_norm")
    sd = model.state_dict()
    if wrapped:  # state dict of torchaudio's pipeline wrapper: "model." prefix
        sd = {"model." + k: v for k, v in sd.items()}
    path = tmp_path / "w.pth"
    torch.save(sd, path)
    arch_conf = {k: v for k, v in params.items() if k != "aux_num_out"}
    up = SSLUpstream(f"checkpoint:{path}", arch="hubert_base", arch_conf=arch_conf)
    assert not up.normalize_waveform
    wav = torch.randn(1, 6000)
    with torch.no_grad():
        ref, _ = model.extract_features(wav)
    torch.testing.assert_close(up(wav)[0], ref[-1], atol=1e-5, rtol=1e-5)

    with pytest.raises(SSLCheckpointError, match="arch="):
        SSLUpstream(f"checkpoint:{path}")
    with pytest.raises(SSLCheckpointError, match="do not match"):
        SSLUpstream(f"checkpoint:{path}", arch="hubert_base", arch_conf={**arch_conf, "encoder_embed_dim": 32})
    with pytest.raises(ValueError, match="Unknown arch"):
        SSLUpstream(f"checkpoint:{path}", arch="hubert_tiny")


def test_checkpoint_errors(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(SSLCheckpointError, match="nope.pt"):
        SSLUpstream(f"checkpoint:{missing}")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a torch file")
    with pytest.raises(SSLCheckpointError, match="garbage.pt"):
        SSLUpstream(f"checkpoint:{garbage}")
    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    (hf_dir / "config.json").write_text('{"model_type": "hubert"}')
    try:
        import transformers  # noqa: F401
    except ImportError:
        with pytest.raises(SSLCheckpointError, match="transformers"):
            SSLUpstream(f"checkpoint:{hf_dir}")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(SSLCheckpointError, match="config.json"):
        SSLUpstream(f"checkpoint:{empty_dir}")
    fairseq_like = tmp_path / "fs.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "cfg": {"model": {}}}, fairseq_like)
    try:
        import fairseq  # noqa: F401
    except ImportError:
        with pytest.raises(SSLCheckpointError, match="fairseq"):
            SSLUpstream(f"checkpoint:{fairseq_like}")


# ---------------------------------------------------------------- offline


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_offline_bundle_error(monkeypatch, name):
    import torchaudio.pipelines._wav2vec2.utils as ta_utils

    seen = {}

    def fail(url, **kwargs):
        seen["url"], seen["kwargs"] = url, kwargs
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(ta_utils, "load_state_dict_from_url", fail)
    with pytest.raises(SSLDownloadError) as info:
        SSLUpstream(name, dl_kwargs={"progress": False})
    err = info.value
    assert isinstance(err, RuntimeError)
    msg = str(err)
    assert name in msg and "checkpoint:" in msg and "tiny" in msg
    assert err.__suppress_context__  # no chained urllib traceback
    assert seen["kwargs"] == {"progress": False}
    assert seen["url"].endswith(".pth")


# ---------------------------------------------------------------- arguments


def test_sample_rate_error():
    with pytest.raises(ValueError, match="16000 Hz.*8000"):
        SSLUpstream("tiny", sample_rate=8000)
    SSLUpstream("tiny", sample_rate=16000)


def test_input_errors(tiny):
    with pytest.raises(ValueError, match=r"Utterance 1 has 300 samples"):
        tiny(torch.randn(2, 1000), torch.tensor([1000, 300]))
    with pytest.raises(ValueError, match="exceeds"):
        tiny(torch.randn(2, 1000), torch.tensor([1000, 1001]))
    with pytest.raises(ValueError, match="shape"):
        tiny(torch.randn(2, 1000), torch.tensor([1000]))
    with pytest.raises(ValueError, match="batch, samples"):
        tiny(torch.randn(1000))


def test_name_and_option_errors():
    with pytest.raises(ValueError, match="Unknown SSL upstream"):
        SSLUpstream("hubert_tiny")
    with pytest.raises(ValueError, match="dl_kwargs"):
        SSLUpstream("tiny", dl_kwargs={})
    with pytest.raises(ValueError, match="Unknown tiny-model"):
        SSLUpstream("tiny", arch_conf={"nope": 1})
