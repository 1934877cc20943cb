"""A character-level LSTM language model conditioned on a country (the capstone's model).

Built from the lesson layers only: :func:`rnnref.layers.embedding_forward` for characters,
countries and the initial state, :func:`rnnref.lstm.lstm_forward` for the recurrence,
:func:`rnnref.layers.temporal_affine_forward` for the scores and the masked
:func:`rnnref.layers.temporal_softmax_loss`. Shapes: N names in a batch, T steps (longest
name + 1), V vocabulary size, K countries, Dc/Dk character/country embedding sizes, H hidden.

Conditioning, at two places (three with ``ModelConfig.country_bias``):

- every step's input is ``[E_char[x_t], E_country[k]]`` (the country embedding concatenated
  to the character embedding), so the country is in view at every step;
- the initial hidden state of every layer is learned per country, ``h0 = H0[k]``
  (an embedding lookup), so the first character is already country-specific;
- optionally, a per-country bias of the scores, ``B_out[k]``, added at every step.

A name ``c_1 ... c_n`` of country k is the input ``<s> c_1 ... c_n`` with the targets
``c_1 ... c_n </s>``: ``log p(name | k) = sum_t log p(target_t | inputs_<=t, k)`` counts the
first character and the end marker (n + 1 terms). Padded steps are masked out of the loss.

Parameters live in one dict (names below); ``layers`` stacked LSTMs (layer l's input is
layer l-1's states), inverted dropout on the input of every layer and on the top states
while training.

======================  ===============  ===============================================
name                    shape            role
======================  ===============  ===============================================
``E_char``              ``(V, Dc)``      character embedding
``E_country``           ``(K, Dk)``      country embedding, input of every step
``H0_l``                ``(K, H)``       initial hidden state of layer l, per country
``Wx_l, Wh_l, b_l``     lesson-04 LSTM   gate order i, f, o, g
``W_out, b_out``        ``(H, V)``       scores over the vocabulary
``B_out``               ``(K, V)``       per-country output bias (``country_bias`` only)
======================  ===============  ===============================================

Modules, one idea each:

- :mod:`~rnnref.charlm.model`: :class:`ModelConfig`, the parameters, the batched forward,
  backward and loss, and :func:`make_batch`;
- :mod:`~rnnref.charlm.sampling`: one step at a time, and the sampler;
- :mod:`~rnnref.charlm.lm`: :class:`CharLM`, the model object (scoring, sampling, files);
- :mod:`~rnnref.charlm.checkpoint`: the checkpoint file format;
- :mod:`~rnnref.charlm.training`: :class:`TrainConfig`, :func:`train` and its parts,
  :func:`calibrate_output`.
"""

# Re-exports, written ``name as name`` rather than listed in ``__all__``: with ``__all__`` the
# API reference would document every object a second time under ``rnnref.charlm`` (and its
# source pages would link there); each object is documented once, in its own module.
from rnnref.charlm.checkpoint import FORMAT as FORMAT
from rnnref.charlm.checkpoint import FORMAT_VERSION as FORMAT_VERSION
from rnnref.charlm.checkpoint import CheckpointError as CheckpointError
from rnnref.charlm.lm import CharLM as CharLM
from rnnref.charlm.model import ModelConfig as ModelConfig
from rnnref.charlm.model import conditional_backward as conditional_backward
from rnnref.charlm.model import conditional_forward as conditional_forward
from rnnref.charlm.model import conditional_loss as conditional_loss
from rnnref.charlm.model import init_params as init_params
from rnnref.charlm.model import make_batch as make_batch
from rnnref.charlm.sampling import initial_state as initial_state
from rnnref.charlm.sampling import sample_ids as sample_ids
from rnnref.charlm.sampling import step_scores as step_scores
from rnnref.charlm.training import TrainConfig as TrainConfig
from rnnref.charlm.training import calibrate_output as calibrate_output
from rnnref.charlm.training import first_letters as first_letters
from rnnref.charlm.training import train as train
