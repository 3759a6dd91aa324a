"""Stages 5-6: scores of the front-ends' outputs, for N speakers.

* :mod:`.signals` - SI-SDR(i), PESQ, STOI, ESTOI of N estimates against N
  references under the best permutation (``python -m espnet2_ext.bin.score_enh``);
* :mod:`.representation` - frame MSE and soft-DTW divergence to the reference
  in the upstream's features, by the criterions in eval mode
  (``python -m espnet2_ext.bin.score_repr``);
* :mod:`.whisper` - Whisper as a second independent recognizer and the
  normalisation its WER needs (``python -m espnet2_ext.bin.asr_whisper``);
* :mod:`.sphinx` - the independent recognizer (pocketsphinx) on each stream
  (``python -m espnet2_ext.bin.asr_sphinx``), scored by
* :mod:`.wer` - the WER of one stream against one speaker (jiwer), and
* :mod:`.mswer` - cpWER and ORC-WER of N streams against N speakers (meeteval).
"""
