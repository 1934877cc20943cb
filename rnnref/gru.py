"""Gated recurrent unit (lesson 05).

Gate order in the fused matrices: **z, r, n** (update, reset, candidate). Two forms:

``variant="documents"`` (the default, and the one the course grades)::

    z = sigmoid(x_t Wx_z + h_{t-1} Wh_z + b_z)
    r = sigmoid(x_t Wx_r + h_{t-1} Wh_r + b_r)
    n = tanh(x_t Wx_n + (r * h_{t-1}) Wh_n + b_n)      reset *before* the recurrent product
    h_t = (1 - z) * h_{t-1} + z * n

``variant="pytorch"`` (PyTorch's ``nn.GRU`` and cuDNN), with a separate recurrent bias
``bh (3H,)`` passed as a keyword::

    z = sigmoid(x_t Wx_z + b_z + h_{t-1} Wh_z + bh_z)
    r = sigmoid(x_t Wx_r + b_r + h_{t-1} Wh_r + bh_r)
    n = tanh(x_t Wx_n + b_n + r * (h_{t-1} Wh_n + bh_n))   reset *after* the product
    h_t = (1 - z) * n + z * h_{t-1}

The PyTorch form needs only one recurrent matmul per step (``h_{t-1} Wh`` for all three
gates), the documents' form two (the candidate's has to wait for r). Their z means opposite
things: in the documents' form z = 1 takes the candidate, in PyTorch's it keeps the old state.
With the pytorch variant every backward also returns ``dbh``, last.

Shapes: N batch, T time steps, D input size, H hidden size; ``Wx (D, 3H)``, ``Wh (H, 3H)``,
``b (3H,)``. The sequence functions use the same time-major fast path as :mod:`rnnref.lstm`.
"""

import numpy as np

from rnnref import _validate as v
from rnnref.lstm import _check_params, sigmoid

VARIANTS = ("documents", "pytorch")


def _check_variant(variant, bh, H):
    if variant not in VARIANTS:
        raise ValueError(
            f"variant must be one of {', '.join(map(repr, VARIANTS))}, got {variant!r}"
        )
    if variant == "pytorch":
        if bh is None:
            raise ValueError("variant='pytorch' needs the recurrent bias bh of shape (3H,)")
        v.array("bh", bh, shape=(3 * H,))
    elif bh is not None:
        raise ValueError("bh is only used by variant='pytorch'; the documents' form has one bias")


def gru_step_forward(x, prev_h, Wx, Wh, b, *, variant="documents", bh=None):
    """One time step of the GRU.

    Args:
        x: input ``(N, D)``; prev_h: hidden state ``(N, H)``;
        Wx: ``(D, 3H)``; Wh: ``(H, 3H)``; b: ``(3H,)``.
        variant: ``"documents"`` or ``"pytorch"`` (keyword-only, see the module docstring).
        bh: recurrent bias ``(3H,)``, required by (and only allowed with) ``"pytorch"``.

    Returns:
        ``next_h (N, H)`` and ``cache = (variant, x, prev_h, Wx, Wh, z, r, n, hn)`` where
        ``hn`` is the candidate's recurrent input: ``r * prev_h`` (documents) or
        ``prev_h Wh_n + bh_n`` (pytorch).
    """
    H = _check_params(x, prev_h, Wx, Wh, b, 3, 2, "prev_h")
    _check_variant(variant, bh, H)
    xw = x @ Wx + b
    if variant == "documents":
        zr = sigmoid(xw[:, : 2 * H] + prev_h @ Wh[:, : 2 * H])
        z, r = zr[:, :H], zr[:, H:]
        hn = r * prev_h
        n = np.tanh(xw[:, 2 * H :] + hn @ Wh[:, 2 * H :])
        next_h = (1.0 - z) * prev_h + z * n
    else:
        hw = prev_h @ Wh + bh
        zr = sigmoid(xw[:, : 2 * H] + hw[:, : 2 * H])
        z, r = zr[:, :H], zr[:, H:]
        hn = hw[:, 2 * H :]
        n = np.tanh(xw[:, 2 * H :] + r * hn)
        next_h = (1.0 - z) * n + z * prev_h
    return next_h, (variant, x, prev_h, Wx, Wh, z, r, n, hn)


def gru_step_backward(dnext_h, cache):
    """Backward pass of :func:`gru_step_forward`.

    Args:
        dnext_h: gradient with respect to ``next_h``, ``(N, H)``; cache: from the forward.

    Returns:
        ``dx (N, D), dprev_h (N, H), dWx (D, 3H), dWh (H, 3H), db (3H,)``, and ``dbh (3H,)``
        last with the pytorch variant.
    """
    variant, x, prev_h, Wx, Wh, z, r, n, hn = cache
    v.array("dnext_h", dnext_h, shape=prev_h.shape)
    H = prev_h.shape[1]
    if variant == "documents":
        dz = dnext_h * (n - prev_h)
        dan = dnext_h * z * (1.0 - n**2)
        dhn = dan @ Wh[:, 2 * H :].T  # gradient of r * prev_h
        dazr = np.concatenate([dz * z * (1.0 - z), dhn * prev_h * r * (1.0 - r)], axis=1)
        dprev_h = dnext_h * (1.0 - z) + dhn * r + dazr @ Wh[:, : 2 * H].T
        da = np.concatenate([dazr, dan], axis=1)
        dWh = np.concatenate([prev_h.T @ dazr, hn.T @ dan], axis=1)
        return da @ Wx.T, dprev_h, x.T @ da, dWh, da.sum(axis=0)
    dz = dnext_h * (prev_h - n)
    dan = dnext_h * (1.0 - z) * (1.0 - n**2)
    dr = dan * hn
    dazr = np.concatenate([dz * z * (1.0 - z), dr * r * (1.0 - r)], axis=1)
    da = np.concatenate([dazr, dan], axis=1)  # gradient of x Wx + b
    dhw = np.concatenate([dazr, dan * r], axis=1)  # gradient of prev_h Wh + bh
    dprev_h = dnext_h * z + dhw @ Wh.T
    return da @ Wx.T, dprev_h, x.T @ da, prev_h.T @ dhw, da.sum(axis=0), dhw.sum(axis=0)


def gru_forward(x, h0, Wx, Wh, b, *, variant="documents", bh=None):
    """Run the GRU over a whole sequence.

    Args:
        x: inputs ``(N, T, D)``; h0: initial hidden state ``(N, H)``;
        Wx: ``(D, 3H)``; Wh: ``(H, 3H)``; b: ``(3H,)``; variant, bh: as in
            :func:`gru_step_forward`.

    Returns:
        ``h (N, T, H)`` and ``cache = (variant, xs, hs, acts, hn, Wx, Wh)``, time-major:
        ``xs (T, N, D)``; ``hs (T+1, N, H)`` with ``h0`` at index 0; ``acts (T, N, 3H)`` the
        activations z, r, n; ``hn (T, N, H)`` the candidate's recurrent input (see
        :func:`gru_step_forward`).
    """
    H = _check_params(x, h0, Wx, Wh, b, 3, 3, "h0")
    _check_variant(variant, bh, H)
    N, T, D = x.shape
    dtype = np.result_type(x, h0, Wx, Wh, b, np.float64)
    xs = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)
    acts = (xs.reshape(T * N, D) @ Wx).reshape(T, N, 3 * H)
    acts += b
    hs = np.empty((T + 1, N, H), dtype=dtype)
    hs[0] = h0
    hn = np.empty((T, N, H), dtype=dtype)
    tmp = np.empty((N, H), dtype=dtype)
    if variant == "documents":
        # Contiguous copies of the two blocks: each is multiplied T times.
        Wh_zr = np.ascontiguousarray(Wh[:, : 2 * H])
        Wh_n = np.ascontiguousarray(Wh[:, 2 * H :])
        rec = np.empty((N, 2 * H), dtype=dtype)
        for t in range(T):
            a, prev_h, next_h = acts[t], hs[t], hs[t + 1]
            zr, z, r, n = a[:, : 2 * H], a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            np.matmul(prev_h, Wh_zr, out=rec)
            zr += rec
            sigmoid(zr, out=zr)
            np.multiply(r, prev_h, out=hn[t])
            np.matmul(hn[t], Wh_n, out=tmp)
            n += tmp
            np.tanh(n, out=n)
            # h_t = h_{t-1} + z * (n - h_{t-1}): one multiply fewer than the textbook form.
            np.subtract(n, prev_h, out=tmp)
            tmp *= z
            np.add(prev_h, tmp, out=next_h)
    else:
        rec = np.empty((N, 3 * H), dtype=dtype)
        for t in range(T):
            a, prev_h, next_h = acts[t], hs[t], hs[t + 1]
            zr, z, r, n = a[:, : 2 * H], a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            np.matmul(prev_h, Wh, out=rec)
            rec += bh
            zr += rec[:, : 2 * H]
            sigmoid(zr, out=zr)
            hn[t] = rec[:, 2 * H :]
            np.multiply(r, hn[t], out=tmp)
            n += tmp
            np.tanh(n, out=n)
            # h_t = n + z * (h_{t-1} - n)
            np.subtract(prev_h, n, out=tmp)
            tmp *= z
            np.add(n, tmp, out=next_h)
    h = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    return h, (variant, xs, hs, acts, hn, Wx, Wh)


def gru_backward(dh, cache):
    """Backpropagation through time for :func:`gru_forward`.

    Args:
        dh: upstream gradient for every hidden state, ``(N, T, H)``; cache: from the forward.

    Returns:
        ``dx (N, T, D), dh0 (N, H), dWx (D, 3H), dWh (H, 3H), db (3H,)``, and ``dbh (3H,)``
        last with the pytorch variant.
    """
    variant, xs, hs, acts, hn, Wx, Wh = cache
    T, N, H = hn.shape
    D = xs.shape[2]
    v.array("dh", dh, shape=(N, T, H))
    dtype = np.result_type(acts, dh)
    da = np.empty((T, N, 3 * H), dtype=dtype)  # gradient of x_t Wx + b
    dnext_h = np.zeros((N, H), dtype=dtype)
    dht = np.empty((N, H), dtype=dtype)
    tmp = np.empty((N, 2 * H), dtype=dtype)
    buf = tmp[:, :H]
    if variant == "documents":
        Wh_zr = Wh[:, : 2 * H]
        Wh_n = Wh[:, 2 * H :]
        dhn = np.empty((N, H), dtype=dtype)
        for t in reversed(range(T)):
            a, dat, prev_h = acts[t], da[t], hs[t]
            zr, z, r, n = a[:, : 2 * H], a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            dzr, dz, dr, dn = dat[:, : 2 * H], dat[:, :H], dat[:, H : 2 * H], dat[:, 2 * H :]
            np.add(dh[:, t], dnext_h, out=dht)
            # Candidate: dn = dht * z * (1 - n^2).
            np.multiply(n, n, out=buf)
            np.subtract(1.0, buf, out=buf)
            buf *= z
            np.multiply(dht, buf, out=dn)
            # dz = dht * (n - h_{t-1})
            np.subtract(n, prev_h, out=buf)
            np.multiply(dht, buf, out=dz)
            # The reset gate acts through r * h_{t-1}, the input of Wh_n.
            np.matmul(dn, Wh_n.T, out=dhn)
            np.multiply(dhn, prev_h, out=dr)
            dzr *= zr
            np.subtract(1.0, zr, out=tmp)
            dzr *= tmp
            # h_{t-1} reaches h_t directly, through r * h_{t-1}, and through z and r.
            np.multiply(dht, z, out=buf)
            np.subtract(dht, buf, out=dnext_h)
            np.multiply(dhn, r, out=buf)
            dnext_h += buf
            dnext_h += dzr @ Wh_zr.T
        da2 = da.reshape(T * N, 3 * H)
        hp = hs[:-1].reshape(T * N, H)
        dWh = np.empty_like(Wh, dtype=dtype)
        np.matmul(hp.T, da2[:, : 2 * H], out=dWh[:, : 2 * H])
        np.matmul(hn.reshape(T * N, H).T, da2[:, 2 * H :], out=dWh[:, 2 * H :])
        extra = ()
    else:
        dhw = np.empty((T, N, 3 * H), dtype=dtype)  # gradient of h_{t-1} Wh + bh
        for t in reversed(range(T)):
            a, dat, dht_w, prev_h = acts[t], da[t], dhw[t], hs[t]
            zr, z, r, n = a[:, : 2 * H], a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            dzr, dz, dr, dn = dat[:, : 2 * H], dat[:, :H], dat[:, H : 2 * H], dat[:, 2 * H :]
            np.add(dh[:, t], dnext_h, out=dht)
            # dn = dht * (1 - z) * (1 - n^2)
            np.multiply(n, n, out=buf)
            np.subtract(1.0, buf, out=buf)
            np.multiply(dht, buf, out=dn)
            np.multiply(dn, z, out=buf)
            dn -= buf
            # dz = dht * (h_{t-1} - n); dr = dn * (h_{t-1} Wh_n + bh_n)
            np.subtract(prev_h, n, out=buf)
            np.multiply(dht, buf, out=dz)
            np.multiply(dn, hn[t], out=dr)
            dzr *= zr
            np.subtract(1.0, zr, out=tmp)
            dzr *= tmp
            dht_w[:, : 2 * H] = dzr
            np.multiply(dn, r, out=dht_w[:, 2 * H :])
            np.matmul(dht_w, Wh.T, out=dnext_h)
            np.multiply(dht, z, out=buf)
            dnext_h += buf
        da2 = da.reshape(T * N, 3 * H)
        dhw2 = dhw.reshape(T * N, 3 * H)
        dWh = hs[:-1].reshape(T * N, H).T @ dhw2
        extra = (dhw2.sum(axis=0),)
    dx = np.ascontiguousarray((da2 @ Wx.T).reshape(T, N, D).transpose(1, 0, 2))
    dWx = xs.reshape(T * N, D).T @ da2
    return (dx, dnext_h, dWx, dWh, da2.sum(axis=0), *extra)
