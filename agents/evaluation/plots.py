"""The report's PNG plots (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

from agents.evaluation.metrics import percentile

BAR_METRICS = ("pass_rate", "fact_recall", "citation_validity", "citation_recall", "refusal_accuracy",
               "routing_accuracy")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def category_bars(by_category: dict[str, dict], path: Path) -> Path | None:
    """Grouped bars: each category's metrics (those that apply to it)."""
    if not by_category:
        return None
    plt = _pyplot()
    names = list(by_category)
    width = 0.8 / len(BAR_METRICS)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for i, metric in enumerate(BAR_METRICS):
        values = [by_category[c].get(metric) for c in names]
        xs = [j + (i - len(BAR_METRICS) / 2 + 0.5) * width for j in range(len(names))]
        ax.bar([x for x, v in zip(xs, values, strict=True) if v is not None],
               [v for v in values if v is not None], width, label=metric.replace("_", " "), color=f"C{i}")
    ax.set_xticks(range(len(names)), [f"{c}\n({by_category[c]['tasks']})" for c in names])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (metrics that apply)")
    ax.set_title("Agent evaluation by category")
    ax.legend(fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_histogram(seconds: list[float], path: Path) -> Path | None:
    if not seconds:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(seconds, bins=min(20, max(5, len(seconds) // 2)), color="#4c72b0")
    for q, style in ((50, "--"), (95, ":")):
        value = percentile(seconds, q)  # the summary's percentiles
        ax.axvline(value, color="black", linestyle=style, label=f"p{q} ≈ {value:.0f} s")
    ax.set_xlabel("seconds per task")
    ax.set_ylabel("tasks")
    ax.set_title("Latency per task")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
