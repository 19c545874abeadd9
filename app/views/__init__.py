"""The window's views: depth image with overlays, score plot, verdict panel, banner, transport."""
