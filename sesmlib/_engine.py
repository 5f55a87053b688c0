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
    :meth:`SESM.fit`; returns their histories. On-line on the cpu each model has its own
    kernel, in this process or in forked worker processes (:func:`sweep_workers`), so that
    a sweep gives every model bit for bit what its own fit gives; otherwise one stacked
    kernel trains the K models together.
``train_rbm(rbm, X, ...)``
    The CD-k / persistent-CD loop of :meth:`RBM.fit`.
``usable_cpus()``, ``workers_from_env()``
    The cores this process may use; the worker count set by ``$SESMLIB_WORKERS`` (also
    read by the Figure-1 run in ``experiments``).

Both training loops check each epoch for divergence (:data:`SESM_DIVERGENCE_FACTOR`,
:data:`RBM_DIVERGENCE_FACTOR`, :data:`RBM_MAX_PARAM`) and then put the models back to the
end of their last good epoch before raising :class:`DivergenceError`.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import warnings

import torch

from . import _utils

__all__ = ["cpu_threads", "DivergenceError", "SESMKernel", "CudaGraphOnline", "train_sesm", "sweep_workers", "train_rbm"]


class DivergenceError(FloatingPointError):
    """Training diverged (see :meth:`SESM.fit` and :meth:`RBM.fit` for the tests); the model
    keeps the parameters of the end of its last good epoch. Raised by SESM and the RBM alike."""


DivergenceError.__module__ = "sesmlib.sesm"  # its public home (the API reference documents it there)


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
        # what the W step accumulates into, as the two views its products need
        vW = W if self.vel is None else self.vel[0]
        self._vW2, self._vWk = vW.view(self.N, self.K * self.M), vW.permute(1, 0, 2)
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
            buf = {k: new(B, K, M) for k in ("U", "Z", "Zg", "P", "s", "t")}
            buf["G"] = new(K, B, M)
            buf["D"], buf["Bm"] = new(K, B, N), new(K, B, N)
            buf["one"] = torch.ones((), dtype=self.W.dtype, device=self.W.device)
            buf["Yc"] = new(B, N)
            # views made once (each costs a call, and on-line steps are dominated by calls)
            buf["U2"], buf["R0"] = buf["U"].view(B, K * M), buf["U"][0]
            buf["Gv"], buf["sk"] = buf["G"].permute(1, 0, 2), buf["s"].permute(1, 0, 2)  # (B,K,M), (K,B,M)
            buf["Dt"], buf["YcT"] = buf["D"].transpose(1, 2), buf["Yc"].T  # (K,N,B), (N,B)
            self._buffers[B] = buf
        return buf

    def _decode_residual(self, Bm, sk, D):
        """D = l(Z) W^T + (b_dec - Y)  (K, B, N), into D; sk is l(Z) as (K, B, M) and Bm is
        b_dec - Y (K, B, N), formed once per batch."""
        torch.baddbmm(Bm, sk, self._Wkt, out=D)

    def infer(self, Y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Step 1: ``steps`` gradient steps on Z from the encoder output. Returns the buffers
        holding Yc (the encoder's input), U (B,K,M), Z* (B,K,M), s = l(Z*) (B,K,M) and
        D (K,B,N), the decoder residual at Z*.

        The loop carries ``Zg = g Z`` (so that ``l(Z) = sigmoid(Zg)`` takes one call) and
        folds the constant pull towards U into one tensor ``P``: eight tensor calls per step
        (nine for several models), and the calls are what an on-line step costs on the cpu
        (the vectors are short)."""
        B = Y.shape[0]
        b = self._buf(B)
        U, Z, Zg, P, s, t = b["U"], b["Z"], b["Zg"], b["P"], b["s"], b["t"]
        G, D, Bm, Gv, sk, one = b["G"], b["D"], b["Bm"], b["Gv"], b["sk"], b["one"]
        Yc = Y
        if self.mu is not None:
            Yc = torch.sub(Y, self.mu, out=b["Yc"])
        g, eta = self.gain, self.step_size
        torch.addmm(self._c2, Yc, self._W2, out=b["U2"])  # (B, K*M) encoder outputs
        torch.sub(self.b_dec, Y, out=Bm)  # b_dec - Y, (K, B, N)
        # Z <- Z - eta [2 alpha_e (Z - U) + 2 g s(1-s) (D W + alpha_s s/(1+s^2))], times g:
        # Zg <- c_keep Zg + P + c_grad s(1-s) (D W + alpha_s s/(1+s^2)), P = g (1 - c_keep) U
        c_keep, c_grad = 1.0 - 2.0 * eta * self.alpha_e, -2.0 * eta * g * g
        torch.mul(U, g * 2.0 * eta * self.alpha_e, out=P)
        torch.mul(U, g, out=Zg)
        a_s = float(self.alpha_s) if self.K == 1 else None
        for _ in range(self.steps):
            torch.sigmoid(Zg, out=s)  # s = l(Z)
            self._decode_residual(Bm, sk, D)  # D = s W^T + b_dec - Y
            torch.bmm(D, self._Wk, out=G)  # G = D W
            torch.addcmul(one, s, s, out=t)  # 1 + s^2
            if a_s is None:
                torch.div(s, t, out=t)  # s / (1 + s^2)
                Gv.addcmul_(t, self.alpha_s)  # D W + alpha_s s / (1 + s^2)
            else:  # one model: alpha_s is a number and the division fuses
                Gv.addcdiv_(s, t, value=a_s)
            torch.addcmul(s, s, s, value=-1.0, out=t)  # s (1 - s) = l'(Z) / g
            torch.add(P, Zg, alpha=c_keep, out=Zg)
            Zg.addcmul_(Gv, t, value=c_grad)
        torch.div(Zg, g, out=Z)
        torch.sigmoid(Zg, out=s)
        self._decode_residual(Bm, sk, D)
        b["Yc_used"] = Yc
        return b

    def train_batch(self, Y: torch.Tensor, lr: float) -> None:
        """Steps 1 and 2 on one batch Y (B, N): infer Z*, then one gradient step on the
        parameters (the gradient of the batch-mean loss, see :func:`loss_grads`)."""
        B = Y.shape[0]
        lr = lr * self.energy_scale  # a step on c E + ... is a step of c lr on eq. 8 (see the class)
        b = self.infer(Y)
        U, Z, D, Yc = b["U"], b["Z"], b["D"], b["Yc_used"]
        R = torch.sub(Z, U, out=U)  # R = Z - U  (B, K, M), in U's buffer
        torch.sign(self.W, out=self._sign)  # at the current W (before the step)
        c = 2.0 / B
        if self.vel is None:  # plain gradient step, accumulated straight into the parameters
            (vW, vc, vd), scale = (self.W, self.c, self.b_dec), lr
        else:  # v <- beta v + grad, then theta <- theta - lr v
            vW, vc, vd = self.vel
            for v in self.vel:  # the velocities are stored negated (-v), like the plain step
                v.mul_(self.momentum)
            scale = 1.0
        YcT = b["YcT"] if Yc is b["Yc"] else Yc.T
        self._vW2.addmm_(YcT, b["U2"], alpha=scale * c * self.alpha_e)  # encoder term (U2 holds R)
        self._vWk.baddbmm_(b["Dt"], b["sk"], alpha=-scale * c)  # decoder term
        if self.alpha_r:
            vW.add_(self._sign, alpha=-scale * self.alpha_r)  # L1 subgradient
        if B == 1:
            vc.add_(b["R0"], alpha=scale * c * self.alpha_e)
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


#: SESM training stops with :class:`DivergenceError` when a model's monitored loss (eq. 8,
#: averaged over the monitoring samples) is NaN/Inf or exceeds this multiple of its value
#: before training (or of 1, when that is smaller). A working run lowers the loss; steps
#: that overshoot multiply it by 1e10 or more within an epoch (lr 1-30 on MNIST: 1e13-1e32).
SESM_DIVERGENCE_FACTOR = 1e3


def _sesm_diverged(loss: float, loss_before: float) -> bool:
    return not math.isfinite(loss) or loss > SESM_DIVERGENCE_FACTOR * max(loss_before, 1.0)


def _one_pass(kernel: SESMKernel, Xe, lr, batch_size, tick, graph):
    """Train the kernel on the rows of Xe in order; ``tick(k)`` reports k more samples.
    Returns the CUDA-graph runner to use next time (None: eager steps)."""
    if graph is not None:
        saved = kernel.state()
        try:
            graph.run(Xe, lr)
            tick(Xe.shape[0])
            return graph
        except RuntimeError as exc:  # capture unsupported: fall back to eager
            warnings.warn(f"CUDA graph capture failed ({exc}); training on-line without it", stacklevel=4)
            kernel.restore(saved)
    done = 0  # samples not yet reported (reported every ~1000)
    for i in range(0, Xe.shape[0], batch_size):
        kernel.train_batch(Xe[i : i + batch_size], lr)
        done += batch_size
        if done >= 1000:
            tick(done)
            done = 0
    tick(done)
    return None


def _threads(batch_size: int, device) -> int | None:
    """On-line steps on the cpu run on one thread (see :func:`cpu_threads`)."""
    return 1 if batch_size == 1 and torch.device(device).type == "cpu" else None


def _epoch(kernel: SESMKernel, models, Xe, X_mon, lr, batch_size, tick, graph=None):
    """One epoch of the kernel's models on the rows of Xe, then their statistics on X_mon.
    Returns (list of stats, seconds of training, graph runner)."""
    on_gpu = Xe.device.type == "cuda"
    t0 = time.perf_counter()
    with torch.no_grad(), cpu_threads(_threads(batch_size, Xe.device)):
        graph = _one_pass(kernel, Xe, lr, batch_size, tick, graph)
        kernel.sync()
        if on_gpu:
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        stats = epoch_stats(kernel, models, X_mon)
    return stats, dt, graph


class _Orders:
    """The samples in the order of each epoch: the same for every model of a sweep, and the
    same as :meth:`SESM.fit` with that seed."""

    def __init__(self, X, seed: int, shuffle: bool):
        self.X, self.shuffle, self.seed = X, shuffle, int(seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.epoch, self.Xe = -1, X

    def rows(self, epoch: int) -> torch.Tensor:
        """X in the order of ``epoch``."""
        if epoch < self.epoch:  # start the sequence again
            self.gen.manual_seed(self.seed)
            self.epoch = -1
        while self.epoch < epoch:
            self.epoch += 1
            if self.shuffle:
                order = torch.randperm(self.X.shape[0], generator=self.gen).to(self.X.device)
                self.Xe = self.X[order] if self.epoch == epoch else None
        return self.Xe


def _kernel(W, b_enc, b_dec, models, mu, hp) -> SESMKernel:
    first = models[0]
    return SESMKernel(
        W, b_enc, b_dec, [m.alpha_s for m in models], gain=first.gain, alpha_e=first.alpha_e, alpha_r=first.alpha_r,
        steps=hp["infer_steps"], step_size=hp["infer_step_size"], mu=mu, momentum=hp["momentum"],
        energy_scale=first.energy_scale,
    )


def _solo_kernel(model, mu, hp) -> SESMKernel:
    """A K = 1 kernel on views of one model's own tensors (trained in place)."""
    model.W, model.b_enc, model.b_dec = (t.contiguous() for t in (model.W, model.b_enc, model.b_dec))
    N, M = model.n_visible, model.n_code
    return _kernel(model.W.view(N, 1, M), model.b_enc.view(1, M), model.b_dec.view(1, 1, N), [model], mu, hp)


# Three ways to run the epochs of K models, with one interface used by train_sesm:
#   stats(X_mon) -> list of stats (before training);  epoch(e, orders, X_mon, tick) -> list of
#   (stats, seconds, parameters finite) per model;  commit(e) after a good epoch;
#   restore_last_good() after a bad one;  close() at the end, whatever happened.


class _Together:
    """All K models in one kernel (their parameters stacked): one batched product per step.
    Used for one model, for minibatches and on the GPU."""

    def __init__(self, models, X, mu, hp):
        first = models[0]
        K, N = len(models), first.n_visible
        self.models, self.hp = models, hp
        if K == 1:
            self.kernel = _solo_kernel(first, mu, hp)
        else:  # stacked copies; the models' parameters are views of them while training
            W = torch.stack([m.W for m in models], dim=1).contiguous()  # (N, K, M)
            b_enc = torch.stack([m.b_enc for m in models]).contiguous()  # (K, M)
            b_dec = torch.stack([m.b_dec for m in models]).view(K, 1, N).contiguous()  # (K, 1, N)
            for k, m in enumerate(models):
                m.W, m.b_enc, m.b_dec = W[:, k], b_enc[k], b_dec[k, 0]
            self.kernel = _kernel(W, b_enc, b_dec, models, mu, hp)
        self.graph = CudaGraphOnline(self.kernel) if X.device.type == "cuda" and hp["batch_size"] == 1 else None
        self.last_good = None

    def stats(self, X_mon):
        with torch.no_grad(), cpu_threads(_threads(self.hp["batch_size"], X_mon.device)):
            return epoch_stats(self.kernel, self.models, X_mon)

    def epoch(self, e, orders, X_mon, tick):
        self.last_good = self.kernel.state()
        stats, dt, self.graph = _epoch(self.kernel, self.models, orders.rows(e), X_mon, self.hp["lrs"][e],
                                       self.hp["batch_size"], tick, self.graph)
        finite = bool(torch.isfinite(self.kernel.W).all())
        return [(s, dt, finite) for s in stats]

    def commit(self, e):
        pass

    def restore_last_good(self):
        self.kernel.restore(self.last_good)

    def close(self):
        self.kernel.sync()  # the models' b_enc matches W even after an interrupt
        if len(self.models) > 1:  # give each model its own storage
            for m in self.models:
                m.W, m.b_enc, m.b_dec = m.W.clone(), m.b_enc.clone(), m.b_dec.clone()


class _OneByOne:
    """K models, each with its own K = 1 kernel, trained one after the other in each epoch
    in this process: exactly what K separate fits compute (bitwise), and as fast."""

    def __init__(self, models, X, mu, hp):
        self.models, self.hp = models, hp
        self.kernels = [_solo_kernel(m, mu, hp) for m in models]
        self.last_good = None

    def stats(self, X_mon):
        with torch.no_grad(), cpu_threads(_threads(self.hp["batch_size"], X_mon.device)):
            return [epoch_stats(k, [m], X_mon)[0] for k, m in zip(self.kernels, self.models)]

    def epoch(self, e, orders, X_mon, tick):
        self.last_good = [k.state() for k in self.kernels]
        K, out = len(self.models), []
        for kernel, m in zip(self.kernels, self.models):
            (s,), dt, _ = _epoch(kernel, [m], orders.rows(e), X_mon, self.hp["lrs"][e], self.hp["batch_size"],
                                 lambda d: tick(d / K))
            out.append((s, dt, bool(torch.isfinite(kernel.W).all())))
        return out

    def commit(self, e):
        pass

    def restore_last_good(self):
        for kernel, state in zip(self.kernels, self.last_good):
            kernel.restore(state)

    def close(self):
        for kernel in self.kernels:
            kernel.sync()


def _worker_main(conn, models, initial, X, mu, hp, seed, shuffle, monitor):
    """A worker process (forked from the trainer): trains the (model, epoch) tasks it is
    sent, with one CPU thread, each model by its own K = 1 kernel, and sends back each
    model's state and statistics. Messages are pickled tuples: in ("task", k, epoch, state
    or None) and ("stop",); out ("tick", n), ("done", k, epoch, state, stats, seconds,
    finite) and ("error", traceback)."""
    import pickle
    import signal
    import traceback

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the trainer stops its workers
    torch.set_num_threads(1)

    def send(*msg):
        conn.send_bytes(pickle.dumps(msg))

    try:
        kernels: dict = {}
        orders = _Orders(X, seed, shuffle)
        X_mon = X[: min(monitor, X.shape[0])]
        while True:
            msg = pickle.loads(conn.recv_bytes())
            if msg[0] == "stop":
                return
            _, k, e, state = msg
            if k not in kernels:
                kernels[k] = _solo_kernel(models[k], mu, hp)
                # the trainer's initial state, bit for bit (c = b_enc + W^T mu rounds differently
                # with another number of threads)
                kernels[k].restore(initial[k])
            if state is not None:
                kernels[k].restore(state)
            (s,), dt, _ = _epoch(kernels[k], [models[k]], orders.rows(e), X_mon, hp["lrs"][e], hp["batch_size"],
                                 lambda d: d and send("tick", d))
            send("done", k, e, kernels[k].state(), s, dt, bool(torch.isfinite(kernels[k].W).all()))
    except BaseException:  # noqa: BLE001 - reported to the trainer, which raises
        try:
            send("error", traceback.format_exc())
        except Exception:  # noqa: BLE001
            pass
    finally:
        conn.close()


class _Workers:
    """K models trained by worker processes (forked; one CPU thread each), each model by its
    own K = 1 kernel: every model is trained exactly as a separate fit trains it (bitwise:
    same kernel, same thread count, same order of the samples).

    The tasks are (model, epoch) pairs; a free worker takes the ready task of lowest epoch,
    and a model may start its next epoch before the others finish the current one, so
    with 5 models on 2 workers no worker waits at the end of an epoch. An epoch is
    committed (divergence check, history, callback) once every model has finished it; the
    models in this process hold the committed parameters, so a stop, an error or an
    interrupt leaves them at the end of the last committed epoch."""

    def __init__(self, models, X, mu, hp, n_workers, seed, shuffle, monitor):
        import multiprocessing
        import pickle

        self._pickle = pickle
        self.models, self.hp = models, hp
        self.kernels = [_solo_kernel(m, mu, hp) for m in models]  # the committed states
        initial = [k.state() for k in self.kernels]
        ctx = multiprocessing.get_context("fork")
        self.conns, self.procs = [], []
        try:
            for _ in range(n_workers):
                parent, child = ctx.Pipe()
                p = ctx.Process(target=_worker_main, args=(child, models, initial, X, mu, hp, seed, shuffle, monitor),
                                daemon=True, name="sesmlib-sweep-worker")
                p.start()
                child.close()
                self.conns.append(parent)
                self.procs.append(p)
        except BaseException:
            self.close()
            raise
        self.idle = list(range(n_workers))
        self.busy: dict[int, tuple[int, int]] = {}  # worker -> (model, epoch)
        self.holder: dict[int, int] = {}  # model -> the worker that holds its latest state
        self.next_epoch = [0] * len(models)
        self.results: dict[tuple[int, int], tuple] = {}
        self.states: dict[tuple[int, int], list] = {}

    def stats(self, X_mon):
        with torch.no_grad(), cpu_threads(_threads(self.hp["batch_size"], X_mon.device)):
            return [epoch_stats(k, [m], X_mon)[0] for k, m in zip(self.kernels, self.models)]

    def _dispatch(self, last_epoch: int) -> None:
        running = {k for k, _ in self.busy.values()}
        ready = sorted((self.next_epoch[k], k) for k in range(len(self.models))
                       if self.next_epoch[k] <= last_epoch and k not in running)
        for e, k in ready:
            if not self.idle:
                return
            w = self.holder.get(k)
            if w in self.idle:
                state = None  # that worker holds the model's latest state
            else:
                w = self.idle[0]
                state = None if e == 0 else self.states.get((k, e - 1)) or self.kernels[k].state()
            self.idle.remove(w)
            self.busy[w] = (k, e)
            self.conns[w].send_bytes(self._pickle.dumps(("task", k, e, state)))

    def epoch(self, e, orders, X_mon, tick):
        from multiprocessing.connection import wait

        K, epochs = len(self.models), len(self.hp["lrs"])
        while not all((k, e) in self.results for k in range(K)):
            self._dispatch(min(e + 1, epochs - 1))  # at most one epoch ahead of the commit
            if not self.busy:
                raise RuntimeError("internal error: the sweep's workers have nothing to run")
            for conn in wait([self.conns[w] for w in self.busy]):
                w = self.conns.index(conn)
                try:
                    msg = self._pickle.loads(conn.recv_bytes())
                except EOFError:
                    raise RuntimeError("a worker process of the sweep stopped unexpectedly (out of memory?); "
                                       "set SESMLIB_WORKERS=1 to train the sweep in this process") from None
                if msg[0] == "tick":
                    tick(msg[1] / K)
                elif msg[0] == "error":
                    raise RuntimeError(f"a worker process of the sweep failed:\n{msg[1]}")
                else:
                    _, k, ep, state, s, dt, finite = msg
                    self.results[(k, ep)] = (s, dt, finite)
                    self.states[(k, ep)] = state
                    self.holder[k] = w
                    self.next_epoch[k] = ep + 1 if finite and math.isfinite(s["loss"]) else epochs
                    del self.busy[w]
                    self.idle.append(w)
        return [self.results.pop((k, e)) for k in range(K)]

    def commit(self, e):
        with torch.no_grad(), cpu_threads(_threads(self.hp["batch_size"], "cpu")):
            for k, kernel in enumerate(self.kernels):  # the models take the epoch's parameters
                kernel.restore(self.states.pop((k, e)))

    def restore_last_good(self):
        pass  # the models still hold the last committed epoch

    def close(self):
        for w, (conn, p) in enumerate(zip(self.conns, self.procs)):
            if w in getattr(self, "busy", {}):  # its task is not wanted any more
                p.kill()
            else:
                try:
                    conn.send_bytes(self._pickle.dumps(("stop",)))
                except OSError:
                    pass
        for p in self.procs:
            p.join(timeout=5.0)
            if p.is_alive():
                p.kill()
                p.join()
        for conn in self.conns:
            conn.close()
        for kernel in self.kernels:
            kernel.sync()


#: Below this much work per model and epoch (samples x N x M) the sweep's worker processes
#: cost more than they save, and the models are trained one by one in this process.
MIN_WORKER_TASK = 1e8


def usable_cpus() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers_from_env() -> int | None:
    """The whole number (>= 0) in ``$SESMLIB_WORKERS``; None when it is unset or empty."""
    env = os.environ.get("SESMLIB_WORKERS", "").strip()
    if not env:
        return None
    try:
        n = int(env)
    except ValueError:
        raise ValueError(f"SESMLIB_WORKERS must be a whole number, got {env!r}") from None
    if n < 0:
        raise ValueError(f"SESMLIB_WORKERS must be >= 0, got {n}")
    return n


def sweep_workers(K: int, X: torch.Tensor, batch_size: int, n_visible: int, n_code: int) -> int:
    """How many worker processes train a sweep of K models: 0 trains them together in one
    kernel (one model, minibatches, the GPU); 1 one by one in this process; 2 or more in
    that many forked workers (on-line, on a Linux cpu with 2 or more usable cores, when each
    model's epoch is large enough). ``SESMLIB_WORKERS=n`` sets the number (0 or 1: none)."""
    if K == 1 or X.device.type != "cpu" or batch_size != 1:
        return 0
    n = workers_from_env()
    if n is None:
        n = usable_cpus() if X.shape[0] * n_visible * n_code >= MIN_WORKER_TASK else 1
    if n < 2 or not sys.platform.startswith("linux"):  # fork is safe on Linux only
        return 1
    return min(n, K)


_HISTORY_KEYS = ("epoch", "lr", "loss", "energy_enc", "energy_dec", "sparsity", "l1", "active", "time")


def train_sesm(
    models, X, *, epochs, batch_size, lr, lr_decay, momentum, center, infer_steps, infer_step_size, shuffle, seed,
    progress, callback, monitor
) -> list[dict]:
    """Train K SESMs of the same shape (any alpha_s) on the rows of X, in place; returns
    one history per model (see :meth:`SESM.fit`).

    The settings are those of :meth:`SESM.fit`, with ``lr`` and ``momentum`` resolved (not
    None); they are validated here. ``callback(models, epoch, stats_list)`` after each
    epoch; True stops. Every model ends as K separate fits would leave it: bitwise for the
    on-line sweep on the cpu (one K = 1 kernel per model, in this process or in worker
    processes, see :func:`sweep_workers`), within float rounding when the models share a
    stacked kernel (minibatches, the GPU).

    Raises DivergenceError (see :data:`SESM_DIVERGENCE_FACTOR`); then, as after an
    interrupt or an exception from the callback, every model holds the parameters of the
    end of its last good epoch (or, interrupted mid-epoch in this process, the parameters
    reached so far), with ``b_enc`` consistent with W.
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
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    if len({m.convention for m in models}) > 1:
        raise ValueError("the models of a sweep must share one energy convention")
    if X.shape[0] == 0:
        raise ValueError(f"X has no rows (shape {tuple(X.shape)}): training needs at least one sample")
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    hp = {"batch_size": batch_size, "momentum": momentum, "infer_steps": infer_steps,
          "infer_step_size": infer_step_size, "lrs": [lr * lr_decay**e for e in range(epochs)]}
    # On-line on the cpu everything runs on one thread, the set-up included: the centring
    # constant c = b_enc + W^T mu rounds differently with another number of threads, and
    # on-line steps amplify that last bit into a different model.
    with cpu_threads(_threads(batch_size, X.device)):
        return _train_sesm(models, X, hp, center, shuffle, seed, progress, callback, monitor)


def _train_sesm(models, X, hp, center, shuffle, seed, progress, callback, monitor) -> list[dict]:
    first, n, epochs, batch_size = models[0], X.shape[0], len(hp["lrs"]), hp["batch_size"]
    mu = X.mean(0) if center else None
    X_mon = X[: min(monitor, n)]
    n_workers = sweep_workers(len(models), X, batch_size, first.n_visible, first.n_code)
    if n_workers >= 2:
        runner = _Workers(models, X, mu, hp, n_workers, seed, shuffle, monitor)
    elif n_workers == 1:
        runner = _OneByOne(models, X, mu, hp)
    else:
        runner = _Together(models, X, mu, hp)
    histories: list[dict] = [{k: [] for k in _HISTORY_KEYS} for _ in models]
    K = len(models)
    bar = _utils.progress(total=epochs * n, enable=progress, desc=f"SESM x{K}" if K > 1 else "SESM", unit="digit",
                          unit_scale=True)
    try:
        before = [s["loss"] for s in runner.stats(X_mon)]
        orders = _Orders(X, seed, shuffle)
        for e in range(epochs):
            results = runner.epoch(e, orders, X_mon, bar.update)
            bad = [k for k, (s, _, finite) in enumerate(results) if not finite or _sesm_diverged(s["loss"], before[k])]
            if bad:
                runner.restore_last_good()
                k = bad[0]
                loss = results[k][0]["loss"]
                which = f"model {k} (alpha_s = {models[k].alpha_s:g})" if K > 1 else "the model"
                keeps = "every model keeps its" if K > 1 else "the model keeps its"
                err = DivergenceError(
                    f"training diverged in epoch {e + 1}: the loss of {which} became {loss:.3g} (before training "
                    f"{before[k]:.3g}; the limit is NaN/Inf or {SESM_DIVERGENCE_FACTOR:g} times that) with learning "
                    f"rate lr={hp['lrs'][e]:.3g} and code step size infer_step_size={hp['infer_step_size']:g}. Lower lr "
                    f"(or infer_step_size) and train again; {keeps} parameters from the end of epoch {e} "
                    "(the histories so far: the exception's .histories)."
                )
                err.histories = histories
                raise err
            runner.commit(e)
            for h, (s, dt, _) in zip(histories, results):
                for key, v in {"epoch": e + 1, "lr": hp["lrs"][e], **s, "time": dt}.items():
                    h[key].append(v)
            bar.set_postfix(loss=f"{results[0][0]['loss']:.2f}", active=f"{results[0][0]['active']:.3f}")
            if callback is not None and callback(models, e + 1, [{k: v[-1] for k, v in h.items()} for h in histories]):
                break
    finally:
        runner.close()
        bar.close()
    return histories



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
    X_eval = X[: min(n, 1000)]  # (E, N) fixed rows for the reconstruction error

    def recon_error() -> float:
        R = torch.sigmoid(torch.addmm(b_vis, torch.sigmoid(torch.addmm(b_hid, X_eval, W)), W.T))  # (E, N)
        return float(((R - X_eval) ** 2).mean())

    # the divergence test's reference: the error before training, or that of predicting every
    # pixel by its mean (the pixels' variance), whichever is larger
    reference = max(recon_error(), float(X_eval.var(0, unbiased=False).mean()))
    bar = _utils.progress(range(epochs), enable=progress, desc="RBM", unit="epoch")
    try:
        for ep in bar:
            mu = initial_momentum if (initial_momentum is not None and ep < momentum_switch_epoch) else momentum
            alpha = lr / B
            plain = mu == 0 and weight_decay == 0 and not mixed
            last_good = _RBMState(rbm, g, Hs if persistent else None)
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=g_shuffle, device=dev)  # (n,) this epoch's order
            for i in range(n_batches):
                rbm.n_updates_ = last_good.n_updates + i  # batches 0..i-1 are done (kept on an interrupt)
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
            rbm.n_updates_ = last_good.n_updates + n_batches
            if persistent:
                rbm._persistent_chains.copy_(Hs.to(dt))
            dt_ep = time.perf_counter() - t0
            err = recon_error()
            sizes = [float(t.abs().max()) for t in (W, b_vis, b_hid)]
            largest = max(sizes)
            if not all(v <= RBM_MAX_PARAM for v in sizes) or not err <= RBM_DIVERGENCE_FACTOR * reference:  # NaN too
                last_good.restore(rbm, g, Hs if persistent else None)
                if mixed:
                    Wm.copy_(W)
                    bvm.copy_(b_vis)
                    bhm.copy_(b_hid)
                raise DivergenceError(
                    f"RBM training diverged in epoch {first_epoch + ep + 1} with learning rate lr={lr:g}: the "
                    f"reconstruction error became {err:.3g} (limit {RBM_DIVERGENCE_FACTOR:g} x {reference:.3g}) and "
                    f"the largest parameter {largest:.3g} (limit {RBM_MAX_PARAM:g}). Lower lr and train again; the "
                    f"model keeps its parameters, history and counters from the end of epoch {first_epoch + ep}."
                )
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
            if callback is not None and callback(first_epoch + ep + 1, rbm, row) is True:
                break
    finally:
        if persistent and rbm._persistent_chains is not None:
            rbm._persistent_chains.copy_(Hs.to(dt))  # the chains as far as they ran
        if hasattr(bar, "close"):
            bar.close()
    return hist


#: RBM training stops with :class:`DivergenceError` when, after an epoch, (1) a parameter or
#: the monitored reconstruction error (mean squared error per pixel of the mean-field
#: reconstruction of the first 1000 training rows) is NaN/Inf, (2) a weight or bias exceeds
#: ``RBM_MAX_PARAM`` in magnitude, or (3) that error exceeds ``RBM_DIVERGENCE_FACTOR`` times
#: the larger of its value before training and the pixels' variance (the error of predicting
#: each pixel by its mean). The error of a reconstruction in [0, 1] cannot explode like
#: SESM's loss; what runs away is the parameters. Measured on MNIST and on random strokes
#: (batch 20, 50 hidden units, 4 epochs): working runs (lr 0.05-0.5) keep every parameter
#: below 10; lr 50 and above reaches 100-1e38 within one or two epochs and leaves the error
#: at 2-2.5 times the pixels' variance, where a working run brings it to a fraction of it.
#: A unit whose input is beyond +-17 (float32) or +-37 (float64) is exactly 0 or 1.
RBM_DIVERGENCE_FACTOR = 2.0
RBM_MAX_PARAM = 100.0


class _RBMState:
    """A copy of what one epoch of :func:`train_rbm` changes: parameters, persistent chains,
    the sampling generator and the update counter."""

    def __init__(self, rbm, g, chains):
        self.params = [t.clone() for t in (rbm.W, rbm.b_vis, rbm.b_hid)]
        self.chains = None if chains is None else chains.clone()
        self.gen = g.get_state()
        self.n_updates = rbm.n_updates_

    def restore(self, rbm, g, chains) -> None:
        for t, v in zip((rbm.W, rbm.b_vis, rbm.b_hid), self.params):
            t.copy_(v)
        if chains is not None:
            chains.copy_(self.chains)
        g.set_state(self.gen)
        rbm.n_updates_ = self.n_updates
