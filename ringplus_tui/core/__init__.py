"""Pure data and rules: models, the one error tree, status and countdown, validation, schedule.

No I/O and nothing above it: every other layer may import it.
"""
