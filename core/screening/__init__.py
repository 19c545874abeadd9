"""The screening test (Qt-free): the protocol file, the attempt judge, the screening
result and the audit trail. The window and `spader screening` drive these; neither
computes a result itself."""
