"""Python behind the recipe stages of ``egs2/*/{enh1,sep1}`` (stage script
``egs2/TEMPLATE/enh_ssl1/enh_ssl.sh``), one subpackage per stage, for N
speakers (N = 1: enhancement, N >= 2: separation):

============  ===================  ==========================================================
stage         subpackage           job
============  ===================  ==========================================================
(before 1)    :mod:`.config`       ESPnet configs checked up front; a copy with the run's upstream
1             :mod:`.corpora`      corpus readers, audio validation, Kaldi data dirs
2             :mod:`.simulate`     noisy, optionally reverberant mixtures of N speakers
3-4           (ESPnet)             training and inference are ESPnet's (``espnet2_ext.bin.enh_*``),
                                   forked from one import by :mod:`.common.espnet_runs`
5-6           :mod:`.scoring`      signal scores, representation distances; independent ASR
                                   (pocketsphinx, Whisper), WER / cpWER
7             :mod:`.downstream`   token lists, shapes and phone targets of the downstream tasks
8             :mod:`.report`       ``RESULTS.md`` (seeds: mean and spread; intervals) and the plot
every stage   :mod:`.steps`        the ``data/``/``exp/`` layout and the ``.done`` markers
every stage   :mod:`.common`       errors, command lines, Kaldi tables, audio files, the
                                   numeric environment each ESPnet run's log names
============  ===================  ==========================================================

The stage script runs these as ``python -m espnet2_ext.bin.<tool>``.  Importing
any module here loads neither ESPnet nor torch, so a tool starts in well under
a second; only :mod:`.config` (ESPnet's tasks, to check configs against
them) and :mod:`.scoring.representation` (the criterions) reach ESPnet, inside
their functions, :mod:`.common.espnet_runs` imports the ESPnet tool it
runs inside a function, and :mod:`.common.machine` torch inside
``describe``.  No module here patches or mocks
anything (the encoder-pass count of separation is a benchmark:
``bench/sep_passes.py``).
"""
