"""Stage 2: noisy, optionally reverberant mixtures of N speakers made from a clean
data directory (N = 1: noisy speech for enhancement; N >= 2: WHAMR!-style
separation mixtures).

* :mod:`.mixtures` - the job: which utterances form a mixture, the per-mixture
  random draws, the output data directory; ``python -m espnet2_ext.bin.simulate_noisy``;
* :mod:`.mixing` - signal levels: SNR, relative levels (SIR), offsets, clipping;
* :mod:`.noise` - noise recordings (train / eval parts kept apart) and generated noise;
* :mod:`.room` - shoe-box room impulse responses (pyroomacoustics).
"""
