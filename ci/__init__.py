"""Manifest rendering, validation and change detection for CI."""
