"""Developer tools run from the checkout (not installed with the app): the route fuzzer.

``tools.fuzz_world`` builds the objects every URL argument can point at and logs clients in,
``tools.fuzz_requests`` generates hostile requests (hypothesis strategies), and
``tools.route_fuzzer`` sends them and tallies statuses. The test
``tests/survey/test_fuzz_routes.py`` and the script ``tools/fuzz_routes.py`` both drive
them; pytest finds this package through ``pythonpath = ["."]`` in pyproject.toml.
"""
