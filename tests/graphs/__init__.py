"""Graphs the test suite declares besides the shipped one, each with the owner systems it
reads: a gateway that serves them proves it knows no graph of its own.
"""
