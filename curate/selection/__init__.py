"""Candidate sets: active learning (what to label next) and augmentation."""
