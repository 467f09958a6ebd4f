"""Temporal checks over sequences: gaps in tracks, class changes, id switches, jumps."""
