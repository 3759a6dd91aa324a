"""What every recipe stage shares: user-facing errors and command lines
(:mod:`.cli`), Kaldi-style tables and data directories (:mod:`.kaldi`), audio
files (:mod:`.audio`), several ESPnet runs from one import
(:mod:`.espnet_runs`).  Imports nothing heavier than the standard library at
import time (numpy and soundfile are imported where audio is read)."""
