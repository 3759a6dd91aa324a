"""ESPnet enhancement-side pieces: length plumbing, criterions, loss wrappers."""
