"""Audio brushes (effects on clips) and feature steps (clip → mel spectrogram, MFCC, …)."""
