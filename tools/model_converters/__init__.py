"""Converters of published weights to the project's layers; a package so
that the tests import their readers."""
