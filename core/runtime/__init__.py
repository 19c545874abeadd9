"""The runtime around the method: the frame scorer (preprocess -> SPADER -> results), the
scoring worker and its mailbox, the verdict logic, batch re-scoring and the benchmark.
Qt-free, like all of core."""
