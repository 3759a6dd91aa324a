"""Command-line entry points: ``python -m espnet2_ext.bin.<tool>``.

``enh_train``, ``asr_train`` and ``enh_s2t_train`` run ESPnet's task through
the task classes of :mod:`espnet2_ext.tasks` (so DDP workers register too);
``enh_inference``, ``enh_scoring``, ``asr_inference`` and ``pack`` are
ESPnet's tools unchanged, after registration.  Every option is ESPnet's.
"""
