"""Orchestration of a tracking run: `track` (one terms fetched, extracted, recorded), `run` (a run
built from settings), `launch` (one run as `ota track` and each scheduled tick make it: logs,
delivery, errors, signals), `pool` (the extraction processes).
"""
