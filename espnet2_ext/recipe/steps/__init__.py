"""The state of a recipe run: where every step's outputs and marker live, and
whether a step is done.  The stage script (``egs2/TEMPLATE/enh_ssl1/enh_ssl.sh``)
asks this package through ``python -m espnet2_ext.bin.recipe_steps``; the
report reads results through it; nothing else does path arithmetic on
``data/`` and ``exp/``.

* :mod:`.layout` - the on-disk layout of ``data/`` and ``exp/`` for N speakers;
* :mod:`.markers` - ``.done`` markers holding a signature of the step's inputs;
* :mod:`.plan` - every step: its marker, its inputs, the steps it needs, what
  it clears before it reruns;
* :mod:`.collect` - moving outputs between steps (key lists, splitting jobs'
  outputs per set);
* :mod:`.cli` - the stage script's questions.
"""
