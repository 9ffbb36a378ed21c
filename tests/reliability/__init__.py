"""LaunchWatch's guarantees, each proved by a test that fails if the guarantee breaks.

======================  ==========================================================
guarantee               tests
======================  ==========================================================
1 crash safety          test_crash_safety.py (real ``launchwatch run``, kill -9)
2 hostile feeds         test_hostile_feeds.py, test_fuzz_chain.py
3 hostile users         test_hostile_users.py
4 load                  test_load.py (slow), ``python -m bench.soak``
5 storage               test_storage.py, fixtures in tests/fixtures/db/
6 secrets               test_secrets.py (and tests/test_deploy.py for the image)
======================  ==========================================================

``pytest tests/reliability`` runs the fast set (CI, well under a minute on two cores).
The long runs::

    pytest -m slow tests/reliability                  # 50 random kills per mode, load,
                                                      # 3,000-feed fuzz, 10,000 channels
    python -m bench.crash_loop --rounds 200 [--discord]
    python -m bench.soak --feeds 5000 --cycles 20
    LAUNCHWATCH_FUZZ_EXAMPLES=100000 pytest -m slow tests/reliability/test_fuzz_chain.py
    LAUNCHWATCH_FUZZ_EXAMPLES=5000 pytest tests/reliability/test_hostile_users.py
"""
