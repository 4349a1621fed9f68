"""Table 1's outputs from the recorded runs: ``table1.md``, ``runs.csv``, ``summary.json``, curve plots."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from ... import metrics, report
from ..sweep import RunSpec
from .protocol import Protocol
from .scenes import METRIC_FORMATS, METRIC_PAIRS, METRIC_TITLES, SceneEntry
from .variants import GROUPS, VARIANTS_BY_ID

def _main_value(rec: Mapping[str, Any], metric: str) -> float | None:
    res = rec.get("result", {})
    value = res.get(metric, res.get("metrics", {}).get(metric))
    return None if value is None else float(value)


def _mean(values: Sequence[float]) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def summarize(protocol: Protocol, scenes: Sequence[SceneEntry], cells: Mapping[tuple[str, str], Sequence[str]],
              records: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One dict per row: ``id``, ``group``, ``label``, ``same_as``, ``it_per_s`` (mean over the row's
    finished runs on every scene) and ``scenes``: per scene None (no runs: scene skipped) or a cell
    with ``n`` (runs), ``done`` (recorded), ``ok`` (finished without error), ``errors`` (messages),
    ``success`` (finished runs meeting the threshold) and the mean of every metric over ``ok`` runs."""
    extra = sorted({m for r in records.values() for m in r.get("result", {}).get("metrics", {})}
                   - {"psnr", "ssim", "rmse"})
    rows = []
    for row in protocol.rows():
        out: dict[str, Any] = {"id": row.id, "group": row.group, "label": protocol.label(row),
                               "same_as": row.same_as, "scenes": {}}
        speeds = []
        for scene in scenes:
            keys = cells.get((scene.name, row.id))
            if keys is None:
                out["scenes"][scene.name] = None
                continue
            recs = [records[k] for k in keys if k in records]
            ok = [r for r in recs if r.get("status") == "ok"]
            main = [_main_value(r, scene.metric) for r in ok]
            main = [v for v in main if v is not None and not math.isnan(v)]
            cell = {"n": len(keys), "done": len(recs), "ok": len(ok),
                    "errors": [r.get("error", "") for r in recs if r.get("status") != "ok"],
                    "success": sum(metrics.meets_threshold(v, scene.threshold, scene.higher_is_better)
                                   for v in main)}
            for m in ("vertex_mae", "psnr", "ssim", "rmse", *extra):
                cell[m] = _mean([_main_value(r, m) for r in ok])
            out["scenes"][scene.name] = cell
            speeds += [r["result"]["it_per_s"] for r in ok]
        out["it_per_s"] = _mean(speeds)
        rows.append(out)
    return rows


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    return format(value, METRIC_FORMATS.get(metric, ".3f"))


def markdown_table(protocol: Protocol, scenes: Sequence[SceneEntry], rows: Sequence[Mapping[str, Any]]) -> str:
    """The Markdown report: the main table (like the paper's Table 1), success rates, notes."""
    header = ["", "method"]
    for s in scenes:
        header += [f"{s.title} {METRIC_TITLES[m]}" for m in METRIC_PAIRS[s.metric]]
    header.append("it/s")
    main_rows, success_rows = [], []
    last_group = None
    for row in rows:
        group = GROUPS[row["group"]] if row["group"] != last_group else ""
        last_group = row["group"]
        label = row["label"] + (f" (= {VARIANTS_BY_ID[row['same_as']].label})" if row["same_as"] else "")
        line, succ = [group, label], [group, label]
        for s in scenes:
            cell = row["scenes"].get(s.name)
            if cell is None or cell["ok"] == 0:
                why = "—" if cell is None or cell["done"] == 0 else "failed"
                line += [why, why]
                succ.append(why)
                continue
            mark = "" if cell["ok"] == cell["n"] else f" ({cell['ok']}/{cell['n']} runs)"
            line += [_fmt(cell[m], m) + mark for m in METRIC_PAIRS[s.metric]]
            succ.append(f"{cell['success']}/{cell['ok']}")
        line.append("—" if row["it_per_s"] is None else f"{row['it_per_s']:.1f}")
        main_rows.append(line)
        success_rows.append(succ)

    def table(head: list[str], body: list[list[str]]) -> str:
        align = ["---", "---"] + ["---:"] * (len(head) - 2)
        return "\n".join("| " + " | ".join(r) + " |" for r in [head, align, *body])

    succ_head = ["", "method"] + [
        f"{s.title} {METRIC_TITLES[s.metric]} {'≥' if s.higher_is_better else '≤'} {s.threshold:g}" for s in scenes]
    parts = [f"# Table 1 — {protocol.name} protocol", "", protocol.describe() + ".",
             "Means over seeds of the final figures; image metrics rendered at the base resolution.", "",
             table(header, main_rows), "", "## Success rate (runs meeting the scene's threshold / finished runs)", "",
             table(succ_head, success_rows), "", "## Notes", ""]
    for s in scenes:
        if not s.found:
            parts.append(f"- {s.title}: {s.note}")
        else:
            parts.append(f"- {s.title}: main metric {s.metric}, success threshold {s.threshold:g} "
                         f"({s.threshold_source})"
                         f"{', fixed start: 1 seed' if s.single_init else ''}.")
    errors = [(row["label"], s.title, e) for row in rows for s in scenes
              for e in ((row["scenes"].get(s.name) or {}).get("errors") or [])]
    if errors:
        parts.append(f"- {len(errors)} run(s) failed (details in runs.csv; rerun them with --retry-failed):")
        parts += [f"  - {label} on {title}: {e.splitlines()[0][:160]}" for label, title, e in errors[:20]]
    pending = sum(c["n"] - c["done"] for row in rows for c in row["scenes"].values() if c)
    if pending:
        parts.append(f"- {pending} run(s) not done yet (run the same command again to finish them).")
    return "\n".join(parts) + "\n"


def csv_rows(specs: Sequence[RunSpec], records: Mapping[str, Mapping[str, Any]], protocol: Protocol,
             scenes: Sequence[SceneEntry]) -> list[dict[str, Any]]:
    """One flat row per run of ``specs`` (finished or failed; pending runs are left out)."""
    by_name = {s.name: s for s in scenes}
    out = []
    for spec in {s.key: s for s in specs}.values():  # rows sharing runs list them once
        rec = records.get(spec.key)
        if rec is None:
            continue
        res = rec.get("result", {})
        scene = by_name[spec.scene]
        main = _main_value(rec, scene.metric) if rec.get("status") == "ok" else None
        row = {"scene": spec.scene, "group": VARIANTS_BY_ID[spec.variant].group, "variant": spec.variant,
               "label": protocol.label(VARIANTS_BY_ID[spec.variant]), "seed": spec.seed, "status": rec.get("status"),
               "vertex_mae": res.get("vertex_mae"), "psnr": res.get("psnr"), "ssim": res.get("ssim"),
               "rmse": res.get("rmse")}
        row.update({k: v for k, v in res.get("metrics", {}).items() if k not in row})
        row.update({
            "main_metric": scene.metric, "threshold": scene.threshold,
            "success": None if main is None else metrics.meets_threshold(main, scene.threshold,
                                                                         scene.higher_is_better),
            "it_per_s": res.get("it_per_s"), "wall_s": res.get("wall_s"), "matching_s": res.get("matching_s"),
            "resolution": spec.config.get("resolution"), "iterations": res.get("iterations"),
            "error": rec.get("error"), "traceback": rec.get("traceback"),
            "metric_errors": res.get("metric_errors") or None,
            "settings_hash": spec.settings_hash, "key": spec.key, "settings": spec.config.get("settings"),
        })
        out.append(row)
    return out


def plot_scene_curves(path: Path, protocol: Protocol, scene: SceneEntry, cells: Mapping[tuple[str, str], Sequence[str]],
                      records: Mapping[str, Mapping[str, Any]]) -> Path | None:
    """Error (the scene's main metric) vs time, one panel per row group, one colour per row."""
    panels: dict[str, dict[str, Any]] = {}
    for row in protocol.rows():
        for key in cells.get((scene.name, row.id), []):
            rec = records.get(key)
            if not rec or rec.get("status") != "ok":
                continue
            curve = rec["result"].get("curves", {}).get(scene.metric) or []
            if curve:
                panels.setdefault(GROUPS[row.group], {})[f"{protocol.label(row)}/seed{rec['seed']}"] = (
                    [p[0] for p in curve], [p[1] for p in curve])
    if not panels:
        return None
    return report.plot_curve_panels(path, panels, xlabel="seconds", ylabel=METRIC_TITLES[scene.metric],
                                    title=f"{scene.title}: {METRIC_TITLES[scene.metric]} vs time ({protocol.name})",
                                    logy=scene.metric == "vertex_mae", threshold=scene.threshold)


def write_outputs(out_dir: Path, protocol: Protocol, scenes: Sequence[SceneEntry], specs: Sequence[RunSpec],
                  cells: Mapping[tuple[str, str], Sequence[str]], records: Mapping[str, Mapping[str, Any]],
                  curves: bool = True) -> list[Path]:
    """Write ``table1.md``, ``runs.csv``, ``summary.json`` and ``curves_<scene>.png``; returns the paths."""
    out_dir = Path(out_dir)
    rows = summarize(protocol, scenes, cells, records)
    written = [report.write_text(out_dir / "table1.md", markdown_table(protocol, scenes, rows)),
               report.write_csv(out_dir / "runs.csv", csv_rows(specs, records, protocol, scenes)),
               report.write_json(out_dir / "summary.json", {"protocol": protocol, "scenes": scenes, "rows": rows})]
    if curves:
        for scene in scenes:
            if scene.found:
                path = plot_scene_curves(out_dir / f"curves_{scene.name}.png", protocol, scene, cells, records)
                if path is not None:
                    written.append(path)
    return written
