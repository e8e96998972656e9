"""Replay mode: every notebook runs without an engine, from results a real run recorded.

Where an engine answers, nothing changes. Where none answers (Binder, a laptop without
Docker), the helpers marked `@replayable` answer from notebooks/recordings/NN-name.json.gz.
`python -m helpers record` makes those recordings by running the notebooks against a real
engine; nothing in them is written by hand, and nothing in them is ever run.

    session.py         the modes, the @replayable mark, how a call is answered and keyed
    codec.py           results as JSON data (an allow-list of types under stable tags)
    proxy.py           objects with no data form (a client, a container), recorded call by call
    store.py           the recording files: the journal while recording, the checked reader
    secrets_filter.py  what never reaches a recording
"""

from helpers.replay.session import LIVE, RECORD, REPLAY, SESSION, live_only, mode, replayable

__all__ = ["LIVE", "RECORD", "REPLAY", "SESSION", "live_only", "mode", "replayable"]
