"""The plan_service domain: aggregates that turn commands into sealed contract events.

Pure: no I/O, no clock reads other than the `now` a command context brings.
"""
