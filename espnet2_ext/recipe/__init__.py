"""Python behind the recipe stages of ``egs2/*/enh1`` (template ``egs2/TEMPLATE/enh_ssl1``).

* :mod:`.an4` - AN4 reader, audio validation, Kaldi data directories (stage 1);
* :mod:`.simulate` - noisy / reverberant simulation (stage 2);
* :mod:`.metrics` and :mod:`.score` - SI-SDR, PESQ, STOI, ESTOI (stage 5);
* :mod:`.sphinx` and :mod:`.wer` - independent ASR and WER (stages 6-7);
* :mod:`.report` - RESULTS.md and the convergence plot (stage 8).

None of these modules imports ESPnet: the recipe runs them through
``espnet2_ext/bin/<tool>.py`` by path, which skips the package's (slow)
registration into ESPnet.
"""
