"""Stage 8: ``RESULTS.md`` and the convergence plot, for N speakers.

* :mod:`.table` - the metrics a report knows, the rows (one per front-end) and
  columns (a metric is a column when some result holds it) read through
  :mod:`espnet2_ext.recipe.steps.layout`;
* :mod:`.text` - the sentences around the table and the notes on the run;
* :mod:`.stats` - intervals over utterances (Student-t, bootstrap of a rate)
  and the spread over seeds;
* :mod:`.train_log` - validation losses per epoch from ESPnet's ``train.log``;
* :mod:`.plot` - the convergence plot;
* :mod:`.results` - ``python -m espnet2_ext.bin.make_report``.
"""
