"""The prototype's second idea: a small CNN on 20-candle chart images. No Django.

The prototype drew 224 x 224 PNG charts to disk for every stock every evening. Here the images
are drawn in memory from the OHLCV arrays, as numpy, in the 64 x 60 layout of Jiang, Kelly & Xiu,
"(Re-)Imag(in)ing Price Trends" (2023): three pixel columns per session (open tick on the left,
high-low bar in the middle, close tick on the right), prices scaled to the window's high-low
range in the top 51 rows, volume bars scaled to the window's largest volume in the bottom 12
rows, one blank row between. White (255) on black (0), one channel.

PyTorch is optional (``pip install torch==2.13.0``, CPU build) and imported only inside the
functions that need it; ``chart_images`` needs numpy only.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from predictions.features import HORIZON, UP_THRESHOLD, WINDOW, Panel, complete_windows
from predictions.learners.base import (
    PARALLEL_MIN_ROWS,
    TrainingReport,
    training_samples,
    validation_figures,
    walk_forward_split,
)

PRICE_ROWS, GAP_ROWS, VOLUME_ROWS = 51, 1, 12
HEIGHT, WIDTH = PRICE_ROWS + GAP_ROWS + VOLUME_ROWS, 3 * WINDOW  # 64 x 60


def chart_images(
    open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray
) -> np.ndarray:
    """OHLCV windows, float (k, 20) each, oldest session first -> uint8 images (k, 64, 60).

    Prices in any unit (each image is scaled to its own window); raises ``ValueError`` on NaN
    (only complete windows are drawn).
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in (open_, high, low, close, volume)]
    if any(np.isnan(a).any() for a in arrays):
        raise ValueError("chart_images needs complete windows (no NaN)")
    o, h, lo, c, v = arrays
    k, days = c.shape
    top, bottom = h.max(axis=1, keepdims=True), lo.min(axis=1, keepdims=True)
    span = np.where(top > bottom, top - bottom, 1.0)

    def row(price):  # highest price -> row 0
        return (PRICE_ROWS - 1 - np.rint((price - bottom) / span * (PRICE_ROWS - 1))).astype(np.int64)

    images = np.zeros((k, HEIGHT, WIDTH), dtype=np.uint8)
    sample = np.repeat(np.arange(k), days)
    day = np.tile(np.arange(days), k)
    images[sample, row(o).ravel(), 3 * day] = 255
    images[sample, row(c).ravel(), 3 * day + 2] = 255
    rows = np.arange(PRICE_ROWS)
    bars = (rows >= row(h)[..., None]) & (rows <= row(lo)[..., None])  # (k, days, rows)
    images[:, :PRICE_ROWS, 1::3] = np.where(bars.transpose(0, 2, 1), 255, 0)
    v_top = v.max(axis=1, keepdims=True)
    heights = np.rint(np.divide(v, v_top, out=np.zeros_like(v), where=v_top > 0) * VOLUME_ROWS).astype(np.int64)
    v_rows = np.arange(VOLUME_ROWS)
    v_bars = v_rows >= (VOLUME_ROWS - heights)[..., None]
    images[:, PRICE_ROWS + GAP_ROWS :, 1::3] = np.where(v_bars.transpose(0, 2, 1), 255, 0)
    return images


def panel_images(panel: Panel, t: np.ndarray, n: np.ndarray, *, window: int = WINDOW) -> np.ndarray:
    """Chart images (k, 64, 60) of the ``window`` sessions ending at rows ``t`` for columns
    ``n``; every window must be complete."""
    offsets = np.arange(-window + 1, 1)
    rows = t[:, None] + offsets  # (k, window)
    cols = n[:, None]
    return chart_images(
        panel.open[rows, cols],
        panel.high[rows, cols],
        panel.low[rows, cols],
        panel.close[rows, cols],
        panel.volume[rows, cols],
    )


CNN_PARAMS = {"epochs": 3, "batch_size": 256, "learning_rate": 1e-3, "max_samples": 50_000, "channels": [8, 16, 32]}
_CHUNK = 20_000  # images drawn at a time: 20k x 64 x 60 bytes = 77 MB


def _network(channels: list[int]):
    """conv blocks -> one logit. The first convolution is 3 pixels wide with stride 3, so it reads
    exactly one session's three columns (open, high-low, close) per output column; the later
    ones mix neighbouring sessions. Kept small: on the 2-core CPU this runs on, it trains at
    ~2 ms and scores at ~0.7 ms per image."""
    import torch
    from torch import nn

    layers, previous = [], 1
    for index, width in enumerate(channels):
        if index == 0:
            conv, pool = (
                nn.Conv2d(previous, width, kernel_size=(5, 3), stride=(1, 3), padding=(2, 0)),
                nn.MaxPool2d((2, 1)),
            )
        else:
            conv, pool = nn.Conv2d(previous, width, kernel_size=(5, 3), padding=(2, 1)), nn.MaxPool2d(2)
        layers += [conv, nn.BatchNorm2d(width), nn.LeakyReLU(0.01), pool]
        previous = width
    body = nn.Sequential(*layers)
    with torch.no_grad():
        flat = body(torch.zeros(1, 1, HEIGHT, WIDTH)).numel()
    return nn.Sequential(body, nn.Flatten(), nn.Dropout(0.5), nn.Linear(flat, 1))


@contextmanager
def _torch_threads_for(rows: int):
    """One intra-op thread for small jobs (as ``learners.base.threads_for``: threads that wait for
    each other on a busy 2-core machine cost more than they save)."""
    import torch

    if rows >= PARALLEL_MIN_ROWS // 10:  # a CNN row costs ~100x a boosting row
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _to_tensor(images: np.ndarray):
    import torch

    return torch.from_numpy(images).unsqueeze(1).float().div_(255.0)


class ChartCnnUpModel:
    """Three conv blocks (conv 5x3, batch norm, leaky ReLU, max pool), dropout, one logit."""

    kind = "cnn"
    feature_names = [f"chart_{HEIGHT}x{WIDTH}_{WINDOW}_sessions"]

    def __init__(
        self, network, *, params: dict, window: int = WINDOW, horizon: int = HORIZON, up_threshold: float = UP_THRESHOLD
    ):
        self.network, self.params = network, params
        self.window, self.horizon, self.up_threshold = window, horizon, up_threshold

    @classmethod
    def fit(
        cls,
        panel: Panel,
        first: int,
        last: int,
        *,
        horizon: int = HORIZON,
        up_threshold: float = UP_THRESHOLD,
        validation_fraction: float = 0.2,
        random_state: int = 0,
        progress=None,
        **params,
    ):
        """Train on the labelled samples of panel rows ``first`` .. ``last`` (at most
        ``max_samples`` of them, drawn at random), keeping the epoch with the lowest validation
        log loss on the walk-forward split."""
        import torch
        from torch import nn

        params = {**CNN_PARAMS, **params}
        torch.manual_seed(random_state)
        rng = np.random.default_rng(random_state)
        t, n, y = training_samples(panel, first, last, horizon=horizon, up_threshold=up_threshold)
        if len(y) == 0 or y.min() == y.max():
            raise ValueError(f"{len(y)} labelled samples with one class only: nothing to learn")
        fit, validation = walk_forward_split(t, validation_fraction=validation_fraction, horizon=horizon)
        fit_idx, val_idx = np.flatnonzero(fit), np.flatnonzero(validation)
        budget = params["max_samples"]
        if len(fit_idx) > budget:
            fit_idx = np.sort(rng.choice(fit_idx, budget, replace=False))
        if len(val_idx) > budget // 4:
            val_idx = np.sort(rng.choice(val_idx, budget // 4, replace=False))
        x_fit = panel_images(panel, t[fit_idx], n[fit_idx])
        x_val = _to_tensor(panel_images(panel, t[val_idx], n[val_idx]))
        y_fit = torch.from_numpy(y[fit_idx]).float()
        y_val = torch.from_numpy(y[val_idx]).float()

        with _torch_threads_for(len(fit_idx)):
            network = _network(params["channels"])
            optimizer = torch.optim.Adam(network.parameters(), lr=params["learning_rate"])
            loss_fn = nn.BCEWithLogitsLoss()
            best_loss, best_state, best_epoch, history = np.inf, None, 0, []
            for epoch in range(1, params["epochs"] + 1):
                network.train()
                order = rng.permutation(len(fit_idx))
                for start in range(0, len(order), params["batch_size"]):
                    batch = order[start : start + params["batch_size"]]
                    optimizer.zero_grad()
                    loss = loss_fn(network(_to_tensor(x_fit[batch])).squeeze(1), y_fit[batch])
                    loss.backward()
                    optimizer.step()
                val_logits = _predict_logits(network, x_val)
                val_loss = float(loss_fn(val_logits, y_val))
                history.append(round(val_loss, 5))
                if progress:
                    progress(f"epoch {epoch}: validation log loss {val_loss:.4f}")
                if val_loss < best_loss:
                    best_loss, best_epoch = val_loss, epoch
                    best_state = {k: v.clone() for k, v in network.state_dict().items()}
                    p_val = torch.sigmoid(val_logits).numpy().astype(np.float64)
        network.load_state_dict(best_state)
        network.eval()
        report = TrainingReport(
            samples=len(fit_idx),
            up_rate=float(y[fit_idx].mean()),
            sessions=len(np.unique(t[fit_idx])),
            first_session=str(panel.sessions[t.min()].date()),
            last_session=str(panel.sessions[t.max()].date()),
            params={**params, "random_state": random_state, "best_epoch": best_epoch},
            validation=validation_figures(
                p_val,
                y[val_idx],
                t[val_idx],
                panel,
                extra={
                    "log_loss": best_loss,
                    "log_loss_by_epoch": history,
                },
            ),
        )
        return cls(network, params=report.params, horizon=horizon, up_threshold=up_threshold), report

    def score_panel(self, panel: Panel, rows: np.ndarray | None = None) -> np.ndarray:
        """Probability of up, float (T, N), where ``rows`` (bool, T) is true; NaN without a
        complete 20-session window."""
        import torch

        mask = complete_windows(panel, self.window)
        if rows is not None:
            mask &= rows[:, None]
        t, n = np.nonzero(mask)
        out = np.full(panel.shape, np.nan)
        with _torch_threads_for(len(t)):
            for start in range(0, len(t), _CHUNK):
                part = slice(start, start + _CHUNK)
                images = _to_tensor(panel_images(panel, t[part], n[part], window=self.window))
                out[t[part], n[part]] = torch.sigmoid(_predict_logits(self.network, images)).numpy()
        return out

    def save(self, path: Path) -> None:
        import torch

        torch.save(
            {
                "kind": self.kind,
                "state_dict": self.network.state_dict(),
                "params": self.params,
                "window": self.window,
                "horizon": self.horizon,
                "up_threshold": self.up_threshold,
            },
            path,
        )

    @classmethod
    def load(cls, path: Path):
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain data only
        if state.get("kind") != cls.kind:
            raise ValueError(f"{Path(path).name} holds a {state.get('kind')!r} model, not {cls.kind!r}")
        network = _network(state["params"]["channels"])
        network.load_state_dict(state["state_dict"])
        network.eval()
        return cls(
            network,
            params=state["params"],
            window=state["window"],
            horizon=state["horizon"],
            up_threshold=state["up_threshold"],
        )


def _predict_logits(network, images, batch_size: int = 2048):
    import torch

    network.eval()
    with torch.no_grad():
        return torch.cat([network(images[i : i + batch_size]).squeeze(1) for i in range(0, len(images), batch_size)])
