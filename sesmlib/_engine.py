"""The fast training engines behind :meth:`SESM.fit`, :func:`fit_sweep` and :meth:`RBM.fit`.

Internal: the model files (``sesm.py``, ``rbm.py``) hold the math as a student derives it;
this module holds the same arithmetic written for speed (preallocated buffers, in-place
products, K models at once, CUDA graphs). The tests check each engine against the
readable functions of the model files.

The internal API, used by ``sesm``, ``rbm``, ``evaluate``, the widgets and ``bench``:

``cpu_threads(n)``
    Context manager: run a block with ``n`` torch CPU threads, then restore the setting.
``DivergenceError``
    Raised by both engines when training diverges; the model keeps its last good state.
``SESMKernel(W, b_enc, b_dec, alphas, ...)``
    The two SESM training steps (infer Z*, one gradient step) for K models that share the
    data and differ in alpha_s; ``train_batch(Y, lr)``, ``infer(Y)``, ``state()``,
    ``restore(state)``, ``sync()``.
``CudaGraphOnline(kernel)``
    On-line (batch 1) steps replayed as CUDA graphs; ``run(X, lr)``. cuda only.
``train_sesm(models, X, **settings)``
    Train K SESMs (same shape and data, any alpha_s) with the settings of
    :meth:`SESM.fit`; returns their histories.
``train_rbm(rbm, X, ...)``
    The CD-k / persistent-CD loop of :meth:`RBM.fit`.
"""
from __future__ import annotations

import contextlib
import math
import time
import warnings

import torch

from . import _utils

__all__ = ["cpu_threads", "DivergenceError", "SESMKernel", "CudaGraphOnline", "train_sesm", "train_rbm"]


class DivergenceError(FloatingPointError):
    """Training produced a NaN or Inf loss; the model keeps its last good parameters."""


@contextlib.contextmanager
def cpu_threads(n: int | None, device: str | torch.device | None = None):
    """Run a block with ``n`` torch CPU threads, then restore the previous setting.

    ``n=None`` (or a ``device`` that is not the cpu) leaves the setting alone. One thread
    is what small problems want: when each product is a few microseconds of work, waking
    and joining a second thread costs more than it saves, and on a machine whose cores are
    shared with other processes the threads' barriers made on-line SESM ~10x, the RBM's
    CD loop 4-30x and the 2-D toy 5-10x slower than one thread (measured on 2 cores).

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with cpu_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if n is None or (device is not None and torch.device(device).type != "cpu"):
        yield
        return
    n = _utils.check_positive_int("num_threads", n)
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


# =============================================================================
# SESM: the K-model kernel, the CUDA-graph on-line path, the epoch loop
# =============================================================================


class SESMKernel:
    """Both training steps for K SESMs that share the data and differ only in alpha_s.

    Layout: the K filter banks are held side by side as ``W`` (N, K, M), so that the
    encoder of all K models is ONE matrix product ``Y @ W.view(N, K*M)`` and so is the
    encoder part of the gradient of W; the decoder products are one batched product over
    K (``torch.baddbmm`` on the strided view ``W.permute(1, 0, 2)``, no copy). Codes are
    held as (B, K, M), decoder residuals as (K, B, N). For K = 1 the parameters are *views*
    of the model's own ``W`` (N, M), ``b_dec`` (N,), updated in place. All temporaries live
    in buffers allocated once per batch size, so that on-line training (B = 1) costs a
    fixed, small number of tensor operations per digit.

    Two optional changes to the *optimiser* (the model and its loss are unchanged):

    - ``mu`` (N,), centring: the encoder is written ``W^T (Y - mu) + c`` with
      ``c = b_enc + W^T mu``, and the gradient step is taken on (W, c) instead of
      (W, b_enc). Same function, better-conditioned steps (the curvature along the mean
      digit, ~2 ||mu||^2, disappears). ``sync()`` writes ``b_enc = c - W^T mu`` back.
    - ``momentum`` beta: ``v <- beta v + grad``, ``theta <- theta - lr v``.

    ``energy_scale`` c is the factor in front of the energy's quadratic terms (1: eq. 7 as
    printed; 1/2: the half convention). The kernel computes in eq. 7's units: a loss
    ``c E + alpha_s h + alpha_r |W|_1`` is ``c`` times eq. 8 with ``alpha_s / c`` and
    ``alpha_r / c``, so its steps of ``lr`` and ``step_size`` are eq. 8's steps of
    ``c lr`` and ``c step_size`` (exact in floating point for c = 1/2).
    """

    def __init__(self, W, b_enc, b_dec, alphas, *, gain, alpha_e, alpha_r, steps, step_size, mu=None, momentum=0.0,
                 energy_scale=1.0):
        self.W, self.b_enc, self.b_dec = W, b_enc, b_dec  # (N,K,M) (K,M) (K,1,N)
        self.N, self.K, self.M = W.shape
        self._W2 = W.view(self.N, self.K * self.M)  # (N, K*M): the encoder of all K models
        self._Wk = W.permute(1, 0, 2)  # (K, N, M) strided view
        self._Wkt = W.permute(1, 2, 0)  # (K, M, N) strided view: the decoders
        self.mu = mu  # (N,) or None
        # the encoder bias the steps act on: c = b_enc + W^T mu (its own tensor), or b_enc itself
        self.c = b_enc + torch.einsum("n,nkm->km", mu, W) if mu is not None else b_enc  # (K, M)
        self._c2 = self.c.view(self.K * self.M)  # (K*M,)
        self.energy_scale = c = float(energy_scale)
        self.alpha_s = torch.as_tensor([a / c for a in alphas], dtype=W.dtype, device=W.device).view(1, -1, 1)  # (1,K,1)
        self.gain, self.alpha_e, self.alpha_r = float(gain), float(alpha_e), float(alpha_r) / c
        self.steps, self.step_size = int(steps), float(step_size) * c
        self.momentum = float(momentum)
        self.vel = [torch.zeros_like(t) for t in (W, self.c, b_dec)] if self.momentum else None
        self._buffers: dict[int, dict[str, torch.Tensor]] = {}
        self._sign = torch.empty_like(W)

    # -- state, for divergence recovery and for the models' b_enc
    def state(self) -> list[torch.Tensor]:
        return [t.clone() for t in (self.W, self.c, self.b_dec, *(self.vel or []))]

    def restore(self, state) -> None:
        for t, v in zip((self.W, self.c, self.b_dec, *(self.vel or [])), state):
            t.copy_(v)
        self.sync()

    def sync(self) -> None:
        """Write the paper's encoder bias b_enc = c - W^T mu into the models' tensor."""
        if self.mu is not None:
            self.b_enc.copy_(self.c - torch.einsum("n,nkm->km", self.mu, self.W))

    def _buf(self, B: int) -> dict[str, torch.Tensor]:
        buf = self._buffers.get(B)
        if buf is None:
            K, N, M = self.K, self.N, self.M
            new = lambda *shape: torch.empty(*shape, dtype=self.W.dtype, device=self.W.device)  # noqa: E731
            buf = {k: new(B, K, M) for k in ("U", "Z", "s", "t")}
            buf["G"] = new(K, B, M)
            buf["D"] = new(K, B, N)
            buf["Yc"] = new(B, N)
            self._buffers[B] = buf
        return buf

    def _decode_residual(self, Y, s, D):
        """D = l(Z) W^T + b_dec - Y  (K, B, N), into D."""
        torch.baddbmm(self.b_dec, s.permute(1, 0, 2), self._Wkt, out=D)
        D.sub_(Y)

    def infer(self, Y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Step 1: ``steps`` gradient steps on Z from the encoder output. Returns the buffers
        holding Yc (the encoder's input), U (B,K,M), Z* (B,K,M), s = l(Z*) (B,K,M) and
        D (K,B,N), the decoder residual at Z*."""
        B = Y.shape[0]
        b = self._buf(B)
        U, Z, s, t, G, D = b["U"], b["Z"], b["s"], b["t"], b["G"], b["D"]
        Yc = Y
        if self.mu is not None:
            Yc = torch.sub(Y, self.mu, out=b["Yc"])
        g, eta = self.gain, self.step_size
        torch.addmm(self._c2, Yc, self._W2, out=U.view(B, -1))  # (B, K*M) encoder outputs
        Z.copy_(U)
        Gv = G.permute(1, 0, 2)  # (B, K, M) view
        c_keep, c_pull, c_grad = 1.0 - 2.0 * eta * self.alpha_e, 2.0 * eta * self.alpha_e, -2.0 * eta * g
        for _ in range(self.steps):
            torch.mul(Z, g, out=t)
            torch.sigmoid(t, out=s)  # s = l(Z)
            self._decode_residual(Y, s, D)  # D = s W^T + b_dec - Y
            torch.bmm(D, self._Wk, out=G)  # G = D W
            torch.mul(s, s, out=t)
            t.add_(1.0)
            torch.div(s, t, out=t)  # s / (1 + s^2)
            Gv.addcmul_(t, self.alpha_s)  # D W + alpha_s s / (1 + s^2)
            torch.addcmul(s, s, s, value=-1.0, out=t)  # s (1 - s) = l'(Z) / g
            Gv.mul_(t)
            # Z <- Z - eta [2 alpha_e (Z - U) + 2 g s(1-s) (D W + alpha_s s/(1+s^2))]
            Z.mul_(c_keep).add_(U, alpha=c_pull).add_(Gv, alpha=c_grad)
        torch.mul(Z, g, out=t)
        torch.sigmoid(t, out=s)
        self._decode_residual(Y, s, D)
        b["Yc_used"] = Yc
        return b

    def train_batch(self, Y: torch.Tensor, lr: float) -> None:
        """Steps 1 and 2 on one batch Y (B, N): infer Z*, then one gradient step on the
        parameters (the gradient of the batch-mean loss, see :func:`loss_grads`)."""
        B = Y.shape[0]
        lr = lr * self.energy_scale  # a step on c E + ... is a step of c lr on eq. 8 (see the class)
        b = self.infer(Y)
        U, Z, s, D, Yc = b["U"], b["Z"], b["s"], b["D"], b["Yc_used"]
        R = U.sub_(Z).neg_()  # R = Z - U  (B, K, M), in U's buffer
        torch.sign(self.W, out=self._sign)  # at the current W (before the step)
        c = 2.0 / B
        if self.vel is None:  # plain gradient step, accumulated straight into the parameters
            (vW, vc, vd), scale = (self.W, self.c, self.b_dec), lr
        else:  # v <- beta v + grad, then theta <- theta - lr v
            vW, vc, vd = self.vel
            for v in self.vel:  # the velocities are stored negated (-v), like the plain step
                v.mul_(self.momentum)
            scale = 1.0
        vW.view(self.N, -1).addmm_(Yc.T, R.view(B, -1), alpha=scale * c * self.alpha_e)  # encoder term
        vW.permute(1, 0, 2).baddbmm_(D.transpose(1, 2), s.permute(1, 0, 2), alpha=-scale * c)  # decoder term
        if self.alpha_r:
            vW.add_(self._sign, alpha=-scale * self.alpha_r)  # L1 subgradient
        if B == 1:
            vc.add_(R[0], alpha=scale * c * self.alpha_e)
            vd.sub_(D, alpha=scale * c)
        else:
            vc.add_(R.sum(0), alpha=scale * c * self.alpha_e)
            vd.sub_(D.sum(1, keepdim=True), alpha=scale * c)
        if self.vel is not None:
            for p, v in zip((self.W, self.c, self.b_dec), self.vel):
                p.add_(v, alpha=lr)


class CudaGraphOnline:
    """On-line training (B = 1) on a GPU, where each digit costs ~30 tiny kernel launches:
    the steps for ``chunk`` consecutive digits are captured once per learning rate as one
    CUDA graph and replayed, so the CPU launches one graph per chunk instead of ~30 kernels
    per digit. Same arithmetic as :meth:`SESMKernel.train_batch`; used only on cuda."""

    def __init__(self, kernel: SESMKernel, chunk: int = 64):
        self.kernel, self.chunk = kernel, chunk
        self.Y = torch.zeros(chunk, kernel.N, dtype=kernel.W.dtype, device=kernel.W.device)
        self.graph, self.lr = None, None

    def _capture(self, lr: float) -> None:
        k = self.kernel
        saved = k.state()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up outside the graph (allocates the workspaces)
            for j in range(3):
                k.train_batch(self.Y[j : j + 1], lr)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for j in range(self.chunk):
                k.train_batch(self.Y[j : j + 1], lr)
        k.restore(saved)  # undo the warm-up and the capture
        self.graph, self.lr = graph, lr

    def run(self, X: torch.Tensor, lr: float) -> None:
        """Train on the rows of X in order (on-line)."""
        if self.graph is None or self.lr != lr:
            self._capture(lr)
        n_full = X.shape[0] // self.chunk * self.chunk
        for i in range(0, n_full, self.chunk):
            self.Y.copy_(X[i : i + self.chunk])
            self.graph.replay()
        for i in range(n_full, X.shape[0]):
            self.kernel.train_batch(X[i : i + 1], lr)


def epoch_stats(kernel: SESMKernel, models, X: torch.Tensor) -> list[dict]:
    """Each term of eq. 8, averaged over the monitoring samples X, for each of the K models,
    with Z* inferred exactly as in training."""
    b = kernel.infer(X)
    Zs = b["Z"].clone()  # (P, K, M)
    out = []
    for k, m in enumerate(models):
        Z = Zs[:, k]
        U = m.encode(X)
        s = torch.sigmoid(m.gain * Z)
        c = getattr(m, "energy_scale", 1.0)  # the terms in the model's own convention
        e_enc = c * m.alpha_e * (Z - U).pow(2).sum(1).mean()
        e_dec = c * (X - (s @ m.W.T + m.b_dec)).pow(2).sum(1).mean()
        h = torch.log1p(s * s).sum(1).mean()
        l1 = m.W.abs().sum()
        total = e_enc + e_dec + m.alpha_s * h + m.alpha_r * l1
        active = (U * m.gain > 0).to(X.dtype).mean()  # l(f_enc(Y)) > 0.5
        out.append(
            {
                "loss": float(total),
                "energy_enc": float(e_enc),
                "energy_dec": float(e_dec),
                "sparsity": float(h),
                "l1": float(l1),
                "active": float(active),
            }
        )
    return out


def run_sesm(kernel: SESMKernel, models, X, *, epochs, batch_size, lr, lr_decay, shuffle, seed, progress, callback, monitor):
    """The epoch loop of :func:`train_sesm`: train the kernel's K models on X; returns their histories."""
    n = X.shape[0]
    histories = [
        {k: [] for k in ("epoch", "lr", "loss", "energy_enc", "energy_dec", "sparsity", "l1", "active", "time")}
        for _ in models
    ]
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else torch.Generator().manual_seed(
        int(torch.randint(0, 2**62, (1,)).item())
    )
    X_mon = X[: min(monitor, n)]
    on_gpu = X.device.type == "cuda"
    graph = None
    if on_gpu and batch_size == 1:
        graph = CudaGraphOnline(kernel)
    bar = _utils.progress(total=epochs * n, enable=progress, desc=f"SESM x{len(models)}" if len(models) > 1 else "SESM", unit="digit", unit_scale=True)
    try:
        for epoch in range(epochs):
            lr_e = lr * lr_decay**epoch
            last_good = kernel.state()
            order = torch.randperm(n, generator=gen).to(X.device) if shuffle else None
            Xe = X[order] if shuffle else X
            t0 = time.perf_counter()
            with torch.no_grad(), cpu_threads(1 if batch_size == 1 and not on_gpu else None):
                if graph is not None:
                    try:
                        graph.run(Xe, lr_e)
                        bar.update(n)
                    except RuntimeError as exc:  # capture unsupported: fall back to eager
                        warnings.warn(f"CUDA graph capture failed ({exc}); training on-line without it", stacklevel=3)
                        graph = None
                        kernel.restore(last_good)
                if graph is None:
                    done = 0  # samples not yet shown on the bar (updated every ~1000)
                    for i in range(0, n, batch_size):
                        kernel.train_batch(Xe[i : i + batch_size], lr_e)
                        done += batch_size
                        if done >= 1000:
                            bar.update(done)
                            done = 0
                    bar.update(done)
                kernel.sync()
                if on_gpu:
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                stats = epoch_stats(kernel, models, X_mon)
            if not all(math.isfinite(s["loss"]) for s in stats) or not torch.isfinite(kernel.W).all():
                kernel.restore(last_good)
                raise DivergenceError(
                    f"training diverged in epoch {epoch + 1} (the loss became NaN or Inf) with learning rate "
                    f"lr={lr_e:.3g} and code step size {kernel.step_size / kernel.energy_scale:g}; the model keeps the parameters from "
                    "the start of that epoch. Lower lr (or the step size) and train again."
                )
            for h, s in zip(histories, stats):
                h["epoch"].append(epoch + 1)
                h["lr"].append(lr_e)
                h["time"].append(dt)
                for key, v in s.items():
                    h[key].append(v)
            bar.set_postfix(loss=f"{stats[0]['loss']:.2f}", active=f"{stats[0]['active']:.3f}")
            if callback is not None and callback(models, epoch + 1, [{k: v[-1] for k, v in h.items()} for h in histories]):
                break
    finally:
        kernel.sync()  # the models' b_enc matches W even after an interrupt
        bar.close()
    return histories



def train_sesm(
    models, X, *, epochs, batch_size, lr, lr_decay, momentum, center, infer_steps, infer_step_size, shuffle, seed,
    progress, callback, monitor
) -> list[dict]:
    """Train K SESMs of the same shape (any alpha_s) on the rows of X, in place.

    The settings are those of :meth:`SESM.fit`, with ``lr`` and ``momentum`` already
    resolved (not None); they are validated here. ``callback(models, epoch, stats_list)``
    after each epoch; True stops. Returns one history per model.
    """
    epochs = _utils.check_positive_int("epochs", epochs)
    batch_size = _utils.check_positive_int("batch_size", batch_size)
    lr = _utils.check_nonnegative("lr", lr, positive=True)
    momentum = _utils.check_nonnegative("momentum", momentum)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if not isinstance(center, bool):
        raise TypeError(f"center must be True or False, got {center!r}")
    lr_decay = _utils.check_nonnegative("lr_decay", lr_decay, positive=True)
    if lr_decay > 1:
        raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay}")
    infer_steps = 0 if infer_steps == 0 else _utils.check_positive_int("infer_steps", infer_steps)
    infer_step_size = _utils.check_nonnegative("infer_step_size", infer_step_size, positive=True)
    monitor = _utils.check_positive_int("monitor", monitor)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    first = models[0]
    if len({m.convention for m in models}) > 1:
        raise ValueError("the models of a sweep must share one energy convention")
    K, N, M = len(models), first.n_visible, first.n_code
    if K == 1:  # the kernel trains the model's own tensors, through views
        first.W, first.b_enc, first.b_dec = (t.contiguous() for t in (first.W, first.b_enc, first.b_dec))
        W, b_enc, b_dec = first.W.view(N, 1, M), first.b_enc.view(1, M), first.b_dec.view(1, 1, N)
    else:  # stacked copies; the models' parameters become views of them while training
        W = torch.stack([m.W for m in models], dim=1).contiguous()  # (N, K, M)
        b_enc = torch.stack([m.b_enc for m in models]).contiguous()  # (K, M)
        b_dec = torch.stack([m.b_dec for m in models]).view(K, 1, N).contiguous()  # (K, 1, N)
    kernel = SESMKernel(
        W, b_enc, b_dec, [m.alpha_s for m in models], gain=first.gain, alpha_e=first.alpha_e, alpha_r=first.alpha_r,
        steps=infer_steps, step_size=infer_step_size, mu=X.mean(0) if center else None, momentum=momentum,
        energy_scale=first.energy_scale,
    )
    opts = dict(epochs=epochs, batch_size=batch_size, lr=lr, lr_decay=lr_decay, seed=seed, monitor=monitor)
    if K == 1:
        return run_sesm(kernel, models, X, shuffle=shuffle, progress=progress, callback=callback, **opts)
    for k, m in enumerate(models):
        m.W, m.b_enc, m.b_dec = W[:, k], b_enc[k], b_dec[k, 0]
    try:
        return run_sesm(kernel, models, X, shuffle=shuffle, progress=progress, callback=callback, **opts)
    finally:
        for m in models:  # give each model its own storage
            m.W, m.b_enc, m.b_dec = m.W.clone(), m.b_enc.clone(), m.b_dec.clone()


# =============================================================================
# RBM: the CD-k loop
# =============================================================================


def train_rbm(rbm, X, epochs, batch_size, lr, k, persistent, momentum, initial_momentum,
              momentum_switch_epoch, weight_decay, seed, progress, callback, mdt) -> dict:
    """The CD-k / persistent-CD loop of :meth:`RBM.fit` (arguments validated there): the
    arithmetic of :meth:`RBM.cd_grads` with preallocated buffers, in-place products and
    the gradient's two products fused into one; updates ``rbm`` in place."""
    n = X.shape[0]
    g = rbm._gen if seed is None else rbm._make_generator(seed)
    g_shuffle = rbm._make_generator(int(torch.randint(0, 2**62, (1,), generator=g, device=rbm.device)))
    B, N, M, dev, dt = batch_size, rbm.n_visible, rbm.n_hidden, rbm.device, rbm.dtype
    n_batches = n // B
    X_eval = X[: min(n, 1000)]  # (E, N) fixed rows for the reconstruction error
    mixed = mdt != dt  # products in reduced precision, parameters kept in dt

    def buf(*shape, dtype=mdt):
        return torch.empty(*shape, device=dev, dtype=dtype)

    # Buffers. Rows 0..B-1 of VV / PP hold the positive phase, rows B..2B-1 the negative,
    # with PP's negative rows negated, so that dW = VV^T PP is one matrix product.
    VV, PP = buf(2 * B, N), buf(2 * B, M)  # (2B, N), (2B, M)
    V0, Vn = VV[:B], VV[B:]
    P0, Pn = PP[:B], PP[B:]
    Hs, Pv = buf(B, M), buf(B, N)
    Uh, Uv = buf(B, M, dtype=dt), buf(B, N, dtype=dt)
    signs = torch.cat([torch.ones(B, device=dev, dtype=mdt), -torch.ones(B, device=dev, dtype=mdt)])  # (2B,)
    ones2 = torch.ones(2 * B, device=dev, dtype=mdt)
    vel_W, vel_bv, vel_bh = torch.zeros_like(rbm.W), torch.zeros_like(rbm.b_vis), torch.zeros_like(rbm.b_hid)
    W, b_vis, b_hid = rbm.W, rbm.b_vis, rbm.b_hid
    if mixed:  # reduced-precision copies used by the products, refreshed after each update
        Wm, bvm, bhm = W.to(mdt), b_vis.to(mdt), b_hid.to(mdt)
        G, gbv, gbh = buf(N, M), buf(N), buf(M)
        # float32 copies: reduced-precision elementwise work is slow on cpus
        Gf, Pvf = buf(N, M, dtype=dt), buf(B, N, dtype=dt)
    else:
        Wm, bvm, bhm = W, b_vis, b_hid
    WmT = Wm.T
    if persistent:
        # Persistent CD keeps the chains' hidden states (B, M), as scikit-learn does; they
        # start from h ~ p(h | v) at random training rows.
        if rbm._persistent_chains is None or rbm._persistent_chains.shape != (B, M):
            rows = X[torch.randint(0, n, (B,), generator=g, device=dev)]
            rbm._persistent_chains = rbm.sample_h(rows, g)
        Hs.copy_(rbm._persistent_chains)

    hist: dict = {"epoch": [], "recon_error": [], "time": [], "digits_per_s": [], "momentum": []}
    first_epoch = len(rbm.history_.get("epoch", []))
    bar = _utils.progress(range(epochs), enable=progress, desc="RBM", unit="epoch")
    for ep in bar:
        mu = initial_momentum if (initial_momentum is not None and ep < momentum_switch_epoch) else momentum
        alpha = lr / B
        plain = mu == 0 and weight_decay == 0 and not mixed
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g_shuffle, device=dev)  # (n,) this epoch's order
        for i in range(n_batches):
            if mixed:
                V0.copy_(X[perm[i * B : (i + 1) * B]])
            else:
                torch.index_select(X, 0, perm[i * B : (i + 1) * B], out=V0)  # (B, N) the batch
            torch.addmm(bhm, V0, Wm, out=P0).sigmoid_()  # positive phase: p(h | v0)
            if not persistent:
                start = P0
            for step in range(k):
                torch.rand(B, M, generator=g, out=Uh)
                torch.rand(B, N, generator=g, out=Uv)
                if not persistent:
                    torch.lt(Uh, start, out=Hs)  # h ~ p(h | v)
                if mixed:
                    torch.addmm(bvm, Hs, WmT, out=Pv)
                    Pvf.copy_(Pv).sigmoid_()  # p(v | h)
                    torch.lt(Uv, Pvf, out=Vn)  # v ~ p(v | h)
                else:
                    torch.addmm(bvm, Hs, WmT, out=Pv).sigmoid_()  # p(v | h)
                    torch.lt(Uv, Pv, out=Vn)  # v ~ p(v | h)
                torch.addmm(bhm, Vn, Wm, out=Pn).sigmoid_()  # p(h | v_n)
                if persistent:
                    torch.lt(Uh, Pn, out=Hs)  # the chain's next hidden state
                else:
                    start = Pn
            Pn.neg_()
            # vel <- mu vel + lr * grad, the gradient's two products fused in one
            if plain:
                W.addmm_(VV.T, PP, alpha=alpha)
                b_vis.addmv_(VV.T, signs, alpha=alpha)
                b_hid.addmv_(PP.T, ones2, alpha=alpha)
                continue
            if mixed:
                torch.mm(VV.T, PP, out=G)
                torch.mv(VV.T, signs, out=gbv)
                torch.mv(PP.T, ones2, out=gbh)
                Gf.copy_(G)
                if mu == 0 and weight_decay == 0:
                    W.add_(Gf, alpha=alpha)
                    b_vis.add_(gbv.to(dt), alpha=alpha)
                    b_hid.add_(gbh.to(dt), alpha=alpha)
                    Wm.copy_(W)
                    bvm.copy_(b_vis)
                    bhm.copy_(b_hid)
                    continue
                vel_W.mul_(mu).add_(Gf, alpha=alpha)
                vel_bv.mul_(mu).add_(gbv.to(dt), alpha=alpha)
                vel_bh.mul_(mu).add_(gbh.to(dt), alpha=alpha)
            else:
                vel_W.addmm_(VV.T, PP, beta=mu, alpha=alpha)
                vel_bv.addmv_(VV.T, signs, beta=mu, alpha=alpha)
                vel_bh.addmv_(PP.T, ones2, beta=mu, alpha=alpha)
            if weight_decay:
                vel_W.add_(W, alpha=-lr * weight_decay)
            W.add_(vel_W)
            b_vis.add_(vel_bv)
            b_hid.add_(vel_bh)
            if mixed:
                Wm.copy_(W)
                bvm.copy_(b_vis)
                bhm.copy_(b_hid)
        if persistent:
            rbm._persistent_chains.copy_(Hs.to(dt))
        dt_ep = time.perf_counter() - t0
        rbm.n_updates_ += n_batches
        R = torch.sigmoid(torch.addmm(b_vis, torch.sigmoid(torch.addmm(b_hid, X_eval, W)), W.T))  # (E, N)
        err = float(((R - X_eval) ** 2).mean())
        row = {
            "epoch": first_epoch + ep + 1,
            "recon_error": err,
            "time": dt_ep,
            "digits_per_s": n_batches * B / dt_ep,
            "momentum": mu,
        }
        for key, val in row.items():
            hist[key].append(val)
            rbm.history_.setdefault(key, []).append(val)
        if progress and hasattr(bar, "set_postfix"):
            bar.set_postfix(recon=f"{err:.4f}")
        if not math.isfinite(err):
            raise FloatingPointError(
                f"RBM training diverged at epoch {ep + 1} (non-finite weights); lower lr (now {lr})"
            )
        if callback is not None and callback(first_epoch + ep + 1, rbm, row) is True:
            break
    if hasattr(bar, "close"):
        bar.close()
    return hist
