"""Long short-term memory (lesson 04).

Gate order in the fused matrices: **i, f, o, g** (input, forget, output, candidate)::

    a = x_t Wx + h_{t-1} Wh + b                 (N, 4H)
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2H]), sigmoid(a[:, 2H:3H])
    g = tanh(a[:, 3H:])
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Shapes: N batch, T time steps, D input size, H hidden size; ``Wx (D, 4H)``, ``Wh (H, 4H)``,
``b (4H,)``. The three sigmoid gates come first, so one call activates all of them.

The step functions follow the lesson's derivation. The sequence functions are the fast path:
they work in time-major order internally (``(T, N, ...)``, so that the slice of one step is a
contiguous block), do the input projection of all T steps as one matmul before the loop and
``dx``, ``dWx``, ``dWh`` as one matmul each over all N*T rows after it, and write every step's
results into preallocated arrays instead of allocating new ones.
"""

import numpy as np

from rnnref import _validate as v


def sigmoid(a, out=None):
    """Logistic function ``1 / (1 + exp(-a))``, safe for any ``a``.

    ``a`` is clipped to ``[-700, 700]`` first, so ``exp`` can neither overflow nor underflow
    (and warn); this only changes results below ``sigmoid(-700) ~ 1e-304``. One ``exp`` and
    cheap arithmetic: NumPy's float64 ``exp`` is vectorized on common CPUs while its ``tanh``
    often is not, and the activations are much of the time loop's cost. ``out`` may be ``a``
    itself.
    """
    out = np.negative(a, out=out)
    np.clip(out, -700.0, 700.0, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _check_params(x, prev_h, Wx, Wh, b, G, x_ndim, h_name):
    """Validate a gated cell's inputs (``G`` fused gates); returns ``H``."""
    v.array("x", x, ndim=x_ndim)
    v.array(h_name, prev_h, ndim=2)
    N, H = prev_h.shape
    D = x.shape[-1]
    if x.shape[0] != N:
        raise ValueError(f"x has batch size {x.shape[0]} but {h_name} has shape {prev_h.shape}")
    v.gates("Wx", Wx, D, H, G)
    v.gates("Wh", Wh, H, H, G)
    v.array("b", b, shape=(G * H,))
    return H


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One time step of the LSTM.

    Args:
        x: input ``(N, D)``; prev_h, prev_c: hidden and cell state ``(N, H)``;
        Wx: ``(D, 4H)``; Wh: ``(H, 4H)``; b: ``(4H,)``.

    Returns:
        ``next_h (N, H)``, ``next_c (N, H)`` and
        ``cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)``: the gate activations
        give every derivative (``sigmoid' = s(1-s)``, ``tanh' = 1 - tanh^2``).
    """
    H = _check_params(x, prev_h, Wx, Wh, b, 4, 2, "prev_h")
    v.array("prev_c", prev_c, shape=prev_h.shape)
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    o = sigmoid(a[:, 2 * H : 3 * H])
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of :func:`lstm_step_forward`.

    Args:
        dnext_h, dnext_c: gradients with respect to ``next_h`` and ``next_c``, ``(N, H)``.
        cache: from the forward.

    Returns:
        ``dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)``.
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    v.array("dnext_h", dnext_h, shape=prev_h.shape)
    v.array("dnext_c", dnext_c, shape=prev_h.shape)
    # next_c reaches the loss directly and through next_h = o * tanh(next_c).
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c**2)
    di = dc * g
    df = dc * prev_c
    do = dnext_h * tanh_c
    dg = dc * i
    da = np.concatenate(
        [di * i * (1.0 - i), df * f * (1.0 - f), do * o * (1.0 - o), dg * (1.0 - g**2)], axis=1
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b, *, c0=None):
    """Run the LSTM over a whole sequence.

    Args:
        x: inputs ``(N, T, D)``; h0: initial hidden state ``(N, H)``;
        Wx: ``(D, 4H)``; Wh: ``(H, 4H)``; b: ``(4H,)``.
        c0: keyword-only initial cell state ``(N, H)``; ``None`` (the course's convention)
            means zeros. Its gradient is returned by :func:`lstm_backward_with_cell`.

    Returns:
        ``h (N, T, H)`` and ``cache = (xs, hs, cs, acts, tanh_c, Wx, Wh)``, all time-major:
        ``xs (T, N, D)`` the inputs; ``hs (T+1, N, H)`` and ``cs (T+1, N, H)`` the hidden and
        cell states with ``h0``/``c0`` at index 0 (so ``hs[:-1]`` are the previous states of
        every step); ``acts (T, N, 4H)`` the gate activations; ``tanh_c (T, N, H)``.
        :func:`lstm_cell_states` reads the cell states from it.
    """
    H = _check_params(x, h0, Wx, Wh, b, 4, 3, "h0")
    N, T, D = x.shape
    dtype = np.result_type(x, h0, Wx, Wh, b, np.float64)
    hs = np.empty((T + 1, N, H), dtype=dtype)
    cs = np.empty((T + 1, N, H), dtype=dtype)
    hs[0] = h0
    if c0 is None:
        cs[0] = 0.0
    else:
        cs[0] = v.array("c0", c0, shape=h0.shape)
    # Transposing the input (D columns) is cheaper than transposing the gates (4H columns).
    xs = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)
    acts = (xs.reshape(T * N, D) @ Wx).reshape(T, N, 4 * H)
    acts += b
    tanh_c = np.empty((T, N, H), dtype=dtype)
    rec = np.empty((N, 4 * H), dtype=dtype)
    ig = np.empty((N, H), dtype=dtype)
    for t in range(T):
        a = acts[t]  # pre-activations, overwritten in place by the activations
        np.matmul(hs[t], Wh, out=rec)
        a += rec
        sigmoid(a[:, : 3 * H], out=a[:, : 3 * H])
        np.tanh(a[:, 3 * H :], out=a[:, 3 * H :])
        np.multiply(a[:, H : 2 * H], cs[t], out=cs[t + 1])
        np.multiply(a[:, :H], a[:, 3 * H :], out=ig)
        cs[t + 1] += ig
        np.tanh(cs[t + 1], out=tanh_c[t])
        np.multiply(a[:, 2 * H : 3 * H], tanh_c[t], out=hs[t + 1])
    # A batch-major copy, so that the caller cannot alter the cache through it.
    h = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    return h, (xs, hs, cs, acts, tanh_c, Wx, Wh)


def lstm_cell_states(cache):
    """The cell states ``c (N, T, H)`` of every step, from the cache of :func:`lstm_forward`
    (``c[:, -1]`` is the final cell state, e.g. to continue a sequence)."""
    return np.ascontiguousarray(cache[2][1:].transpose(1, 0, 2))


def lstm_backward(dh, cache):
    """Backpropagation through time for :func:`lstm_forward`.

    Args:
        dh: upstream gradient for every hidden state, ``(N, T, H)``.
        cache: from :func:`lstm_forward`.

    Returns:
        ``dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)``.
    """
    dx, dh0, _, dWx, dWh, db = lstm_backward_with_cell(dh, cache)
    return dx, dh0, dWx, dWh, db


def lstm_backward_with_cell(dh, cache, dc_last=None):
    """:func:`lstm_backward` that also takes a gradient for the last cell state and returns
    the gradient of ``c0``.

    Args:
        dh: ``(N, T, H)``; cache: from :func:`lstm_forward`;
        dc_last: gradient with respect to the final cell state ``(N, H)``, or ``None`` (zero).

    Returns:
        ``dx (N, T, D), dh0 (N, H), dc0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)``.
    """
    xs, hs, cs, acts, tanh_c, Wx, Wh = cache
    T, N, H = tanh_c.shape
    D = xs.shape[2]
    v.array("dh", dh, shape=(N, T, H))
    dtype = np.result_type(acts, dh)
    dc = np.zeros((N, H), dtype=dtype)
    if dc_last is not None:
        dc += v.array("dc_last", dc_last, shape=(N, H))
    dnext_h = np.zeros((N, H), dtype=dtype)
    da = np.empty((T, N, 4 * H), dtype=dtype)
    dht = np.empty((N, H), dtype=dtype)
    tmp = np.empty((N, 3 * H), dtype=dtype)
    for t in reversed(range(T)):
        a, tc, dat = acts[t], tanh_c[t], da[t]
        i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        s, ds = a[:, : 3 * H], dat[:, : 3 * H]
        buf = tmp[:, :H]
        # The hidden state gets the loss's gradient and the one from step t+1.
        np.add(dh[:, t], dnext_h, out=dht)
        # dc += dht * o * (1 - tanh_c^2): c_t reaches the loss through h_t as well.
        np.multiply(tc, tc, out=buf)
        np.subtract(1.0, buf, out=buf)
        buf *= o
        buf *= dht
        dc += buf
        # Gradients with respect to the activations i, f, o, then through sigmoid' = s(1-s)
        # in one pass over the three fused sigmoid gates.
        np.multiply(dc, g, out=dat[:, :H])
        np.multiply(dc, cs[t], out=dat[:, H : 2 * H])
        np.multiply(dht, tc, out=dat[:, 2 * H : 3 * H])
        ds *= s
        np.subtract(1.0, s, out=tmp)
        ds *= tmp
        # Candidate: dg = dc * i through tanh' = 1 - g^2.
        dg = dat[:, 3 * H :]
        np.multiply(g, g, out=buf)
        np.subtract(1.0, buf, out=buf)
        np.multiply(dc, i, out=dg)
        dg *= buf
        dc *= f
        np.matmul(dat, Wh.T, out=dnext_h)
    da2 = da.reshape(T * N, 4 * H)
    dx = np.ascontiguousarray((da2 @ Wx.T).reshape(T, N, D).transpose(1, 0, 2))
    dWx = xs.reshape(T * N, D).T @ da2
    dWh = hs[:-1].reshape(T * N, H).T @ da2
    return dx, dnext_h, dc, dWx, dWh, da2.sum(axis=0)
