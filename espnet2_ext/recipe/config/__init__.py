"""The ESPnet configs of a recipe: checked up front, edited per run.

* :mod:`.check` - ``python -m espnet2_ext.bin.check_config``: every config the
  requested stages will use, validated against ESPnet's real tasks before any
  stage runs; its parts: :mod:`.options` (top-level keys and values),
  :mod:`.classes` (chosen classes and their ``*_conf``), :mod:`.criterions`
  (enhancement criterions, loss wrappers, SSL upstreams), :mod:`.build` (the
  model, optimizer and scheduler), with :mod:`.params` (constructor keywords),
  :mod:`.espnet` (ESPnet's task parsers) and :mod:`.problems` (the report);
* :mod:`.edit` - ``python -m espnet2_ext.bin.recipe_config set_upstream``: a
  copy of a config with the run's ``--upstream``.

The only part of :mod:`espnet2_ext.recipe` that reaches ESPnet, and only
inside its functions (importing these modules loads neither ESPnet nor torch).
"""
