"""Reliability under real faults: SIGKILL, signals, many writers, storage faults, bad input, memory."""
