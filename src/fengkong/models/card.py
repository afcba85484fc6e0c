"""The model card: the plots and the Markdown page a reviewer reads before a model decides.

:func:`render_plots` draws the four holdout plots (ROC, KS, score distributions,
calibration) as PNG bytes and :func:`model_card` writes ``model_card.md`` from the model's
metadata and its :func:`fengkong.models.metrics.holdout_metrics`, ending in limitations
stated from the figures themselves, so a weak sample or a poor calibration is never left
for the reader to notice.

The plots go into a hashed artifact, so the same holdout gives the same bytes: they are
drawn with matplotlib's own Agg canvas (never pyplot, which would pick or change the
backend of a user's session) under matplotlib's default style (a user's rcParams do not
leak in), without PNG metadata. Titles are in English, with Chinese added only when a CJK
font is installed; a character no available font has is left out rather than drawn as a
missing-glyph box.
"""

from __future__ import annotations

import functools
import io
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from fengkong.models import metrics as holdout

DPI = 100
FIGURE_SIZE = (6.0, 4.5)  # inches: 600 x 450 pixels, a few tens of kilobytes per plot
# CJK fonts in order of preference; the first one installed draws the Chinese titles.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
             "Hiragino Sans GB", "SimHei", "Heiti SC", "Noto Sans CJK JP", "Droid Sans Fallback")
LATIN_FONT = "DejaVu Sans"  # matplotlib's default, shipped with it

# Plot file -> (English title, Chinese title, alt text in the card).
PLOTS = {
    "roc.png": ("ROC curve", "ROC 曲线", "ROC"),
    "ks.png": ("KS: cumulative bads and goods", "KS 曲线", "KS"),
    "scores.png": ("Score distribution by outcome", "分数分布", "Score distribution"),
    "calibration.png": ("Calibration (reliability)", "校准图", "Calibration"),
}
GOOD_COLOUR = "tab:blue"
BAD_COLOUR = "tab:red"

# Limitations are stated when the facts cross these lines.
SMALL_HOLDOUT = 1000  # rows: below this the figures move by several points between samples
FEW_BADS = 100  # bads: the AUC and the bad rates per calibration bin are uncertain
WEAK_AUC = 0.65  # below this the ranking is weak for credit decisions
SUSPICIOUS_AUC = 0.95  # above this, a credit model is more likely leaking the outcome
RARE_BADS = 0.02  # bad rate: below it, average precision says more than AUC
ECE_NOISE_FACTOR = 2.0  # ECE above this multiple of its sampling noise: PDs are off
# Ranking figures (AUC, Gini, KS, AP) to three decimals, as credit reports quote them and as
# far as a holdout supports them; the small PD errors (Brier, log loss, ECE) to four.
RANKING = ".3f"


def render_plots(defaults: np.ndarray, pd: np.ndarray, scores: np.ndarray, *,
                 higher_is_better: bool, title: str) -> dict[str, bytes]:
    """The card's plots of a holdout, as file name -> PNG bytes (see :data:`PLOTS`).

    ``scores`` are the model's own scores, read as :func:`holdout_metrics` reads them.
    """
    import matplotlib.style

    figures = holdout.holdout_metrics(defaults, pd, scores, higher_is_better=higher_is_better)
    y = np.asarray(defaults, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    risk = -s if higher_is_better else s
    fonts = _fonts()
    style: list[Any] = ["default", {"font.family": list(fonts.families)}]
    draw = {"roc.png": _roc, "ks.png": _ks, "scores.png": _scores,
            "calibration.png": _calibration}
    plots: dict[str, bytes] = {}
    with matplotlib.style.context(style):
        for name, (english, chinese, _) in PLOTS.items():
            figure = _figure(fonts.printable(title))
            axes = draw[name](figure, y, s, risk, figures, higher_is_better)
            axes.set_title(f"{english} · {chinese}" if fonts.cjk else english, fontsize=10)
            plots[name] = _png(figure)
    return plots


def model_card(metadata: Mapping[str, Any], metrics: Mapping[str, Any],
               plots: Iterable[str]) -> str:
    """The Markdown model card of a model's metadata, holdout metrics and plot files.

    Every metadata key but ``name`` is optional: a section whose facts are missing says so
    or is left out, so a card can be written for an older or a hand-made artifact.
    """
    name = str(metadata.get("name", "unnamed model"))
    sections = [
        f"# Model card: {name}",
        _overview(metadata),
        _training(metadata),
        _features(metadata),
        _performance(metrics),
        _calibration_section(metadata, metrics),
        _plots_section(plots),
        _limitations(metadata, metrics),
        _mapping_section("Parameters", metadata.get("parameters")),
        _mapping_section("Library versions", metadata.get("versions")),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


# --- plots -----------------------------------------------------------------------------


class _Fonts:
    """The font families the plots use and the characters they can draw."""

    def __init__(self, cjk: str | None) -> None:
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font

        self.cjk = cjk
        self.families = (LATIN_FONT,) if cjk is None else (LATIN_FONT, cjk)
        self.characters: set[int] = set()
        for family in self.families:
            path = font_manager.findfont(font_manager.FontProperties(family=family),
                                         fallback_to_default=False)
            self.characters |= set(FT2Font(path).get_charmap())

    def printable(self, text: str) -> str:
        """``text`` without the characters no font can draw (and the spaces they leave)."""
        kept = "".join(c for c in text if ord(c) in self.characters or c.isspace())
        return " ".join(kept.split())


@functools.cache
def _fonts() -> _Fonts:
    """The installed CJK font, if any covers the Chinese titles; looked up once."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    needed = {ord(c) for _, chinese, _ in PLOTS.values() for c in chinese if not c.isspace()}
    for family in CJK_FONTS:
        if family in installed:
            fonts = _Fonts(family)
            if needed <= fonts.characters:
                return fonts
    return _Fonts(None)


def _figure(suptitle: str) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    if suptitle:
        figure.suptitle(suptitle, fontsize=11)
    return figure


def _axes(figure: Any) -> Any:
    axes = figure.add_subplot()
    axes.grid(alpha=0.3)
    return axes


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _score_label(higher_is_better: bool) -> str:
    return "score (higher is better)" if higher_is_better else "score (higher is riskier)"


def _roc(figure: Any, y: np.ndarray, s: np.ndarray, risk: np.ndarray,
         figures: Mapping[str, Any], higher_is_better: bool) -> Any:
    axes = _axes(figure)
    fpr, tpr = holdout.roc_curve(y, risk)
    axes.plot(fpr, tpr, color=BAD_COLOUR, linewidth=1.5,
              label=f"model, AUC = {figures['auc']:.3f} (Gini {figures['gini']:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="random, AUC = 0.5")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("false positive rate (share of goods flagged)")
    axes.set_ylabel("true positive rate (share of bads flagged)")
    axes.legend(loc="lower right", fontsize=9)
    return axes


def _ks(figure: Any, y: np.ndarray, s: np.ndarray, risk: np.ndarray,
        figures: Mapping[str, Any], higher_is_better: bool) -> Any:
    """The shares of bads and goods from the riskiest score to each cut-off; the KS is the
    widest gap between them."""
    axes = _axes(figure)
    cutoffs, tpr, fpr = holdout.cutoff_rates(y, risk)
    at = int(np.flatnonzero(cutoffs == holdout.ks(y, risk).threshold)[0])
    x = -cutoffs if higher_is_better else cutoffs
    # Each share holds from its cut-off to the next one, away from the risky end.
    x = np.r_[x[0], x]
    axes.step(x, np.r_[0.0, tpr], where="post", color=BAD_COLOUR, label="bads")
    axes.step(x, np.r_[0.0, fpr], where="post", color=GOOD_COLOUR, label="goods")
    cut = figures["ks_score"]
    axes.vlines(cut, fpr[at], tpr[at], colors="black", linestyles="--", linewidth=1.2,
                label=f"KS = {figures['ks']:.3f} at score {cut:.5g}")
    axes.set_ylim(0, 1.02)
    axes.set_xlabel(_score_label(higher_is_better))
    axes.set_ylabel("cumulative share, from the riskiest score")
    axes.legend(loc="best", fontsize=9)
    return axes


def _scores(figure: Any, y: np.ndarray, s: np.ndarray, risk: np.ndarray,
            figures: Mapping[str, Any], higher_is_better: bool) -> Any:
    axes = _axes(figure)
    edges = np.histogram_bin_edges(s, bins="auto")
    if len(edges) > 41:
        edges = np.histogram_bin_edges(s, bins=40)
    for outcome, value, colour in (("goods", 0.0, GOOD_COLOUR), ("bads", 1.0, BAD_COLOUR)):
        values = s[y == value]
        axes.hist(values, bins=edges, density=True, alpha=0.45, color=colour,
                  label=f"{outcome} ({len(values):,})")
        axes.hist(values, bins=edges, density=True, histtype="step", color=colour)
    axes.set_xlabel(_score_label(higher_is_better))
    axes.set_ylabel("density")
    axes.legend(loc="best", fontsize=9)
    return axes


def _calibration(figure: Any, y: np.ndarray, s: np.ndarray, risk: np.ndarray,
                 figures: Mapping[str, Any], higher_is_better: bool) -> Any:
    """Mean PD against bad rate per PD bin over the diagonal, and below it the rows of each
    bin over its PD range (where the PDs lie, and how much each point rests on)."""
    axes, counts = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    table = figures["calibration"]
    predicted = [row["mean_pd"] for row in table]
    observed = [row["bad_rate"] for row in table]
    top = max(*predicted, *observed, 0.01) * 1.08
    axes.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1,
              label="perfect calibration")
    axes.plot(predicted, observed, marker="o", color=BAD_COLOUR, linewidth=1.2,
              label=f"PD bins (ECE = {figures['ece']:.4f})")
    axes.set_xlim(0, top)
    axes.set_ylim(0, top)
    axes.set_ylabel("observed bad rate")
    axes.legend(loc="upper left", fontsize=9)
    axes.grid(alpha=0.3)
    counts.bar([row["pd_low"] for row in table],
               [row["count"] for row in table],
               width=[max(row["pd_high"] - row["pd_low"], top / 200) for row in table],
               align="edge", color=GOOD_COLOUR, alpha=0.6, edgecolor=GOOD_COLOUR)
    counts.set_xlabel("mean predicted PD (bars: the PD range of each bin)")
    counts.set_ylabel("rows")
    counts.grid(alpha=0.3)
    return axes


# --- the card --------------------------------------------------------------------------


def _overview(metadata: Mapping[str, Any]) -> str:
    kind = metadata.get("kind")
    target = metadata.get("target")
    higher_is_better = metadata.get("higher_is_better")
    if higher_is_better is None and kind in ("scorecard", "gbdt"):
        higher_is_better = kind == "scorecard"
    scale = {"scorecard": "scorecard points", "gbdt": "gradient-boosted trees' log-odds of "
             "default"}.get(str(kind), "a score")
    if higher_is_better is not None:
        scale += " (higher is better)" if higher_is_better else " (higher is riskier)"
    purpose = (f"Ranks credit applicants by their risk of default"
               f"{f' (`{target}` = 1)' if target else ''} with {scale} and turns "
               "the score into a calibrated probability of default (PD) for decisions, "
               "pricing and limits"
               + ("; each decision states its adverse reason codes." if metadata.get("reasons")
                  else "."))
    facts = [("Kind", kind), ("Target", target),
             ("Created", metadata.get("created"))]
    return "\n".join([f"**Purpose.** {purpose}", "", *(
        f"- **{label}:** {_text(value)}" for label, value in facts if value is not None)])


def _training(metadata: Mapping[str, Any]) -> str:
    training = metadata.get("training")
    if not isinstance(training, Mapping):
        return "## Training data\n\nThe metadata does not describe the training data."
    split = training.get("split")
    rows = [
        ("Dataset", _text(training.get("dataset"))),
        ("Rows", _count(training.get("rows"))),
        ("Training rows", _count(training.get("train_rows"))),
        ("Holdout rows", _count(training.get("test_rows"))),
        ("Bad rate", _percent(training.get("bad_rate"))),
        ("Data SHA-256", f"`{training['data_sha256']}`" if training.get("data_sha256") else "—"),
        ("Split", _split(split) if isinstance(split, Mapping) else _text(split)),
    ]
    return "## Training data\n\n" + _table(("Item", "Value"), rows)


def _split(split: Mapping[str, Any]) -> str:
    share = split.get("test_size")
    held = f"{_percent(share, 0)} holdout" if isinstance(share, int | float) else "holdout"
    if split.get("method") == "time":
        return f"by time: the latest {held}, ordered by `{split.get('column')}`"
    if split.get("method") == "stratified":
        return f"random, stratified by outcome: {held} (seed {split.get('seed')})"
    return _text(dict(split))


def _features(metadata: Mapping[str, Any]) -> str:
    features = metadata.get("features")
    if not isinstance(features, list) or not features:
        return ""
    reasons = metadata.get("reasons")
    reasons = reasons if isinstance(reasons, Mapping) else {}
    names = [str(f.get("name")) if isinstance(f, Mapping) else str(f) for f in features]
    types = [_text(f.get("dtype")) if isinstance(f, Mapping) else "—" for f in features]
    if reasons:
        header: tuple[str, ...] = ("Feature", "Type", "Reason code", "原因", "Reason")
        rows: list[tuple[str, ...]] = []
        for name, dtype in zip(names, types, strict=True):
            reason = reasons.get(name)
            reason = reason if isinstance(reason, Mapping) else {}
            rows.append((f"`{name}`", dtype, _text(reason.get("code")), _text(reason.get("zh")),
                         _text(reason.get("en"))))
    else:
        header = ("Feature", "Type")
        rows = [(f"`{name}`", dtype) for name, dtype in zip(names, types, strict=True)]
    return f"## Features ({len(features)})\n\n" + _table(header, rows)


def _performance(metrics: Mapping[str, Any]) -> str:
    bad_rate = metrics.get("bad_rate")
    interval = _auc_interval(metrics)
    rows = [
        ("Holdout rows", _count(metrics.get("rows")),
         f"{_count(metrics.get('bads'))} bads" if metrics.get("bads") is not None else ""),
        ("Bad rate", _percent(bad_rate), ""),
        ("AUC", _number(metrics.get("auc"), RANKING),
         "chance a bad scores worse than a good"
         + (f"; approx. 95% interval {interval[0]:.3f}–{interval[1]:.3f}" if interval else "")),
        ("Gini", _number(metrics.get("gini"), RANKING), "2 · AUC − 1"),
        ("KS", _number(metrics.get("ks"), RANKING),
         f"at score {_number(metrics.get('ks_score'), '.6g')}"
         if metrics.get("ks_score") is not None else ""),
        ("Average precision", _number(metrics.get("average_precision"), RANKING),
         f"a random model scores the bad rate, {_number(bad_rate, '.3g')}"
         if bad_rate is not None else ""),
        ("Brier score", _number(metrics.get("brier")), "mean squared error of the PD"),
        ("Log loss", _number(metrics.get("log_loss")), ""),
        ("ECE", _number(metrics.get("ece")), "expected calibration error, PD bins"),
    ]
    return "## Holdout performance\n\n" + _table(("Metric", "Value", "Note"), rows)


def _calibration_section(metadata: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
    parts = ["## Calibration"]
    calibration = metadata.get("calibration")
    if isinstance(calibration, Mapping) and calibration.get("method") == "platt":
        parts.append(f"PD = 1 / (1 + exp(−(a · score + b))), Platt scaling fitted on scores "
                     f"the model did not fit on: a = {_number(calibration.get('a'), '.6g')}, "
                     f"b = {_number(calibration.get('b'), '.6g')}.")
    elif isinstance(calibration, Mapping):
        parts.append(f"Calibration: {_text(dict(calibration))}.")
    table = metrics.get("calibration")
    if isinstance(table, list) and table:
        rows = [(str(number), _count(row.get("count")), _count(row.get("bads")),
                 f"{_percent(row.get('pd_low'))} – {_percent(row.get('pd_high'))}",
                 _percent(row.get("mean_pd")), _percent(row.get("bad_rate")))
                for number, row in enumerate(table, start=1)]
        parts.append("Holdout rows by PD quantile:\n\n" + _table(
            ("Bin", "Rows", "Bads", "PD range", "Mean PD", "Observed bad rate"), rows))
    return "\n\n".join(parts) if len(parts) > 1 else ""


def _plots_section(plots: Iterable[str]) -> str:
    names = list(plots)
    if not names:
        return ""
    links = [f"![{PLOTS[name][2] if name in PLOTS else name.rsplit('.', 1)[0]}]({name})"
             for name in names]
    return "## Plots\n\n" + "\n\n".join(links)


def _limitations(metadata: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
    """What the figures cannot vouch for, each point stated from a fact of this model."""
    notes: list[str] = []
    rows, bads = metrics.get("rows"), metrics.get("bads")
    auc, ece, bad_rate = metrics.get("auc"), metrics.get("ece"), metrics.get("bad_rate")
    interval = _auc_interval(metrics)
    if isinstance(rows, int) and rows < SMALL_HOLDOUT:
        notes.append(f"Small holdout: {rows:,} rows. Every figure here would move noticeably "
                     "on another sample of the same size.")
    if isinstance(bads, int) and bads < FEW_BADS:
        notes.append(f"Few bads in the holdout: {bads:,}"
                     + (f"; the AUC's approximate 95% interval is {interval[0]:.3f}–"
                        f"{interval[1]:.3f}" if interval else "")
                     + ". Bad rates per calibration bin rest on a handful of defaults.")
    if isinstance(auc, float) and auc < WEAK_AUC:
        notes.append(f"Weak ranking: AUC {auc:.3f}. Use the score as one input among others, "
                     "not as the sole basis of a decline.")
    if isinstance(auc, float) and auc > SUSPICIOUS_AUC:
        notes.append(f"Unusually high AUC for credit risk ({auc:.3f}): check that no feature "
                     "is recorded after the outcome (target leakage) before deploying.")
    if isinstance(bad_rate, float) and bad_rate < RARE_BADS:
        precision = _number(metrics.get("average_precision"), RANKING)
        notes.append(f"Rare bads ({_percent(bad_rate)}): the AUC flatters the model; judge it "
                     f"by the average precision ({precision} against "
                     f"{_number(bad_rate, '.3g')} for a random model).")
    noise = _ece_noise(metrics.get("calibration"))
    if isinstance(ece, float) and noise is not None and ece > ECE_NOISE_FACTOR * noise:
        notes.append(f"Poor calibration: ECE {ece:.4f}, more than {ECE_NOISE_FACTOR:g} times "
                     f"what sampling noise alone gives ({noise:.4f}). The PDs are off; "
                     "recalibrate before using them for pricing or limits.")
    training = metadata.get("training")
    split = training.get("split") if isinstance(training, Mapping) else None
    if isinstance(split, Mapping) and split.get("method") != "time":
        notes.append("The holdout is a random sample of the same period as the training data: "
                     "it does not show how the model ages. Monitor the score distribution and "
                     "the bad rates after deployment.")
    reasons = metadata.get("reasons")
    if isinstance(reasons, Mapping):
        generic = sorted(name for name, reason in reasons.items()
                         if isinstance(reason, Mapping) and reason.get("code") == "R90")
        if generic:
            notes.append(f"{len(generic)} feature(s) have only the generic reason code R90 "
                         f"(other credit factors): {', '.join(f'`{n}`' for n in generic)}.")
    notes.append("The figures hold for applicants like those in the training data; a change "
                 "in products, channels or the economy calls for a new validation.")
    return "## Limitations\n\n" + "\n".join(f"- {note}" for note in notes)


def _auc_interval(metrics: Mapping[str, Any]) -> tuple[float, float] | None:
    """An approximate 95% interval of the AUC (Hanley & McNeil, 1982)."""
    auc, rows, bads = metrics.get("auc"), metrics.get("rows"), metrics.get("bads")
    if not isinstance(auc, float) or not isinstance(rows, int) or not isinstance(bads, int):
        return None
    goods = rows - bads
    if bads < 1 or goods < 1:
        return None
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (bads - 1) * (q1 - auc * auc)
                + (goods - 1) * (q2 - auc * auc)) / (bads * goods)
    margin = 1.96 * math.sqrt(max(variance, 0.0))
    return max(auc - margin, 0.0), min(auc + margin, 1.0)


def _ece_noise(table: Any) -> float | None:
    """The ECE a perfectly calibrated PD would show on bins of these sizes: in each bin the
    bad rate's mean absolute deviation from the PD, ``sqrt(2 / pi) * sqrt(p (1 - p) / n)``."""
    if not isinstance(table, list) or not table:
        return None
    total = sum(row["count"] for row in table)
    return sum(row["count"] / total * math.sqrt(2 / math.pi)
               * math.sqrt(row["mean_pd"] * (1 - row["mean_pd"]) / row["count"])
               for row in table)


def _mapping_section(title: str, mapping: Any) -> str:
    if not isinstance(mapping, Mapping) or not mapping:
        return ""
    rows = [(f"`{key}`", _text(value)) for key, value in mapping.items()]
    return f"## {title}\n\n" + _table(("Name", "Value"), rows)


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = [_row(header), "|" + "|".join("---" for _ in header) + "|"]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _number(value: Any, spec: str = ".4f") -> str:
    return format(value, spec) if isinstance(value, int | float) else "—"


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "—"


def _percent(value: Any, digits: int = 2) -> str:
    """A share as a percentage; one under 1% with two significant digits (a fraud PD of
    0.012% would otherwise read 0.01%)."""
    if not isinstance(value, int | float):
        return "—"
    percent = value * 100
    return f"{percent:.2g}%" if 0 < abs(percent) < 1 else f"{percent:.{digits}f}%"
