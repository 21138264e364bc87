"""Tests of okrbridge.config."""
