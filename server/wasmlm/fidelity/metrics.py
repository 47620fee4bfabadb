"""Distances between two forward passes: per layer over hidden states, and over logits."""

import numpy as np


def layer_errors(ours: np.ndarray, ref: np.ndarray) -> dict[str, list[float]]:
    """ours, ref: (positions, n_layer + 1, n_embd). Per layer: the mean over positions of the relative L2
    error ||ours - ref|| / ||ref|| and of the cosine similarity, and the largest absolute difference.
    Per position first, so that one large-norm position (often the first, an attention sink) does not
    hide the others."""
    ours, ref = ours.astype(np.float64), ref.astype(np.float64)
    diff = ours - ref
    ref_norm = np.linalg.norm(ref, axis=-1)
    rel = np.linalg.norm(diff, axis=-1) / np.maximum(ref_norm, 1e-30)
    cos = np.sum(ours * ref, axis=-1) / np.maximum(np.linalg.norm(ours, axis=-1) * ref_norm, 1e-30)
    return {"rel_l2": rel.mean(axis=0).tolist(), "cosine": cos.mean(axis=0).tolist(),
            "max_abs": np.abs(diff).max(axis=(0, 2)).tolist()}


def first_bad_layer(rel_l2: list[float], tolerance: float) -> int | None:
    """The first state (0: embeddings, l + 1: layer l) whose error exceeds the tolerance."""
    return next((i for i, e in enumerate(rel_l2) if not e <= tolerance), None)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _top5(logits: np.ndarray) -> np.ndarray:
    """The 5 highest ids of each row, highest first (argpartition: a 262k vocabulary is not sorted)."""
    part = np.argpartition(-logits, 5, axis=-1)[:, :5]
    order = np.argsort(-np.take_along_axis(logits, part, axis=-1), axis=-1)
    return np.take_along_axis(part, order, axis=-1)


def logit_metrics(ours: np.ndarray, ref: np.ndarray, ids: list[int]) -> dict[str, float]:
    """ours, ref: (n, n_vocab) logits of every position of `ids`. KL(ref || ours) in nats per position,
    top-1 agreement, top-5 overlap (shared ids / 5), and the perplexity of each side on the text
    (position t scores ids[t + 1])."""
    lp_ours, lp_ref = log_softmax(ours), log_softmax(ref)
    kl = np.sum(np.exp(lp_ref) * (lp_ref - lp_ours), axis=-1)
    top5_ours, top5_ref = _top5(ours), _top5(ref)
    overlap = [len(set(a) & set(b)) / 5 for a, b in zip(top5_ours, top5_ref)]
    nxt = np.asarray(ids[1:])
    rows = np.arange(len(nxt))

    def perplexity(lp):
        return float(np.exp(-lp[rows, nxt].mean())) if len(nxt) else float("nan")

    return {"kl": float(kl.mean()), "kl_max": float(kl.max()),
            "top1": float(np.mean(top5_ours[:, 0] == top5_ref[:, 0])), "top5": float(np.mean(overlap)),
            "perplexity": perplexity(lp_ours), "perplexity_ref": perplexity(lp_ref)}
