"""The known mistakes of the recurrent cells, recomputed in the judge.

Each module writes one cell again with knobs (``rnn``, ``lstm``, ``gru``); every knob is one
wrong turn a student takes. A lesson module's tables of ``(message, knobs)`` rows
(:func:`autograder.checks.spec.mistakes`) name the knobs of each known mistake; a failing
output that matches a variant's output gets the row's message.
"""
