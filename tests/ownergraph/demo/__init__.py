"""Tests of the demo owner systems."""
