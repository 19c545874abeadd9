"""Operator threshold tuning from labelled data (Qt-free): labels of recordings, scoring
the labelled frames and attempts through the one scoring path, the ROC and the operating
point by rule, intervals from a bootstrap over subjects, and the calibration file."""
