"""rnnref: the course's reference NumPy implementation of recurrent networks.

One module per lesson (``rnn``, ``gradflow``, ``clipping``, ``lstm``, ``gru``, ``stacked``,
``bidirectional``), shared layers (``layers``), gradient checking (``gradcheck``),
optimizers (``optim``) and the capstone (``names``, ``charlm``). Every forward returns
``(out, cache)`` and its backward takes ``(dout, cache)``; arrays are batch-major.
"""

__version__ = "0.1.0"
