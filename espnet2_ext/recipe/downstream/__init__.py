"""Stage 7: the data of the SUPERB-style downstream tasks (ESPnet trains and
decodes them): ASR on characters, phoneme recognition (PR) on phones.

* :mod:`.tokens` - token lists and the shape files of ESPnet's
  ``--collect_stats`` for both token types (``python -m espnet2_ext.bin.downstream_data``);
* :mod:`.phones` - words to phones through the CMU pronouncing dictionary.
"""
