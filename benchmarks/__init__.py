"""Benchmarks of dispatch: how long a mailing takes, and whether it holds (issue 7).

``python -m benchmarks`` (``make bench``) runs every workload against the real
``dispatch`` command, side by side with a floor and with the peer tool ``mailmerge``,
and prints one table, also written to ``benchmarks/results/latest.json``:

1. render throughput (:mod:`benchmarks.render`),
2. send throughput (:mod:`benchmarks.send`),
3. scale and memory (:mod:`benchmarks.scale`),
4. PDF (:mod:`benchmarks.pdf`),
5. journal cost (:mod:`benchmarks.journal`).

Workloads are generated (:mod:`benchmarks.workload`); each figure is the median of
several fresh processes (:mod:`benchmarks.measure`). The benchmarks never assert a
timing: each target is shown as ``pass`` or ``short``.
"""
