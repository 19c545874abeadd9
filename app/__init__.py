"""The Qt screening window. Shows what the scoring worker publishes; computes no scores."""
