"""Depth frames, frame sources, the capture thread, and the session format. No torch, no Qt."""
