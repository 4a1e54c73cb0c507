"""A utility company's graph: accounts, contracts, billing and field service.

Its owner systems live in :mod:`tests.graphs.utility.owners` (``create_app``, ``SYSTEMS``,
``utility_data``, ``serve``), runnable as ``python -m tests.graphs.utility.owners``. They are
not imported here, so that running that module does not import it twice.
"""
