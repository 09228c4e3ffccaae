"""The project's command-line tools; a package so that tests and benchmarks
import the generators of :mod:`tools.dataset_converters`."""
