"""Python behind the recipe stages of ``egs2/*/enh1`` (template ``egs2/TEMPLATE/enh_ssl1``).

* :mod:`.an4` - AN4 reader, audio validation, Kaldi data directories (stage 1);
* :mod:`.librispeech`, :mod:`.demand`, :mod:`.librispeech_demand` - LibriSpeech and
  DEMAND readers, seen/unseen noise lists (stage 1); :mod:`.whamr` - WHAMR!;
* :mod:`.phones` - CMU-dictionary phoneme targets (stage 7, phoneme recognition);
* :mod:`.config_check` - up-front validation of the ESPnet configs;
* :mod:`.simulate` - noisy / reverberant simulation (stage 2);
* :mod:`.metrics` and :mod:`.score` - SI-SDR, PESQ, STOI, ESTOI (stage 5);
* :mod:`.sphinx` and :mod:`.wer` - independent ASR and WER (stages 6-7);
* :mod:`.report` - RESULTS.md and the convergence plot (stage 8).

None of these modules imports ESPnet: the recipe runs them as
``python -m espnet2_ext.bin.<tool>``, which starts in well under a second
(espnet2_ext registers into ESPnet only when ESPnet's tasks are imported).
"""
