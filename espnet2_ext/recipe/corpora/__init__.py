"""Stage 1: corpus readers that validate every audio file and write Kaldi data
directories (``data/<set>/``).

* :mod:`.validate` - the audio checks and the bad-audio policy every reader shares;
* :mod:`.an4` - CMU AN4 (``mini_an4``), with its download;
* :mod:`.librispeech`, :mod:`.demand`, :mod:`.librispeech_demand` - LibriSpeech
  speech with the seen / unseen DEMAND noise lists of each set;
* :mod:`.whamr` - WHAMR!'s own two-speaker mixtures (``whamr/sep1``).

A corpus's ``local/data.sh`` runs its reader as ``python -m espnet2_ext.bin.prep_<corpus>``.
"""
