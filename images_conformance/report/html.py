"""The conformance report as one self-contained HTML page.

:func:`render_html` takes the report dict (``format_version`` 1, docs/gating.md) and
returns the text of one HTML file that loads nothing from anywhere: inline CSS,
thumbnails as ``data:`` URIs, and a Content-Security-Policy that forbids every network
load and lets only the page's own filtering script run (by its hash). Every string from
the report is escaped, so a target that answers with HTML or script shows as text.

What the page reads from the report (missing keys are shown as unknown, never an error):

- ``verdict`` (``status``, ``conformant``, ``exit_code``, ``message``), ``counts``
  (outcome -> rules; any outcome name is shown: passed, failed, warning, not-judged,
  not-exercised, skipped, expected-failure, ...), ``target``, ``run``, ``suite``, ``cost``;
- ``rules``: ``id``, ``level``, ``outcome``, ``feature``, ``first_failure``, ``reason``
  (and ``source``; else the rule table's);
- ``tests`` (or ``cases``): ``nodeid`` (or ``id``), ``status``, ``rules``, ``features``,
  ``failure``, ``reason``, and ``evidence``: a list of dicts as
  :func:`images_conformance.report._evidence.exchange_evidence` makes them.

Each rule row links to the evidence of the case that best shows it: a case whose
evidence names the rule in a finding, else a failed case carrying it, else any case
carrying it with evidence.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from validator import RULES

OUTCOME_ORDER = (
    "failed",
    "warning",
    "expected-failure",
    "not-judged",
    "passed",
    "not-exercised",
    "skipped",
)
"""The outcomes in the order the page lists them (others follow, alphabetically)."""
_BAD = {"failed", "error", "xfail"}
_DATA_URI = re.compile(r"data:image/(?:png|webp|jpeg|gif);base64,[A-Za-z0-9+/]+={0,2}")

_CSS = """
:root { color-scheme: light; --bad: #b3261e; --ok: #1b6e3a; --warn: #8a5a00; --muted: #5f6368; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 16px 24px; max-width: 1280px; color: #1f1f1f; }
h1 { font-size: 20px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0; display: inline; }
h4 { font-size: 13px; margin: 10px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: 8px; overflow: auto; max-height: 360px; white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
.verdict { padding: 12px 16px; border-radius: 6px; font-size: 16px; margin: 8px 0 12px; border: 1px solid; }
.verdict.ok { background: #e6f4ea; border-color: #a8dab5; color: var(--ok); }
.verdict.bad { background: #fce8e6; border-color: #f4b4ae; color: var(--bad); }
.verdict.error { background: #fef7e0; border-color: #f3d28b; color: var(--warn); }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; padding: 0; list-style: none; }
.counts li { border: 1px solid #ddd; border-radius: 6px; padding: 4px 10px; }
.counts b { font-size: 16px; margin-right: 4px; }
dl.meta { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 8px 0; }
dl.meta div { display: flex; gap: 6px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #eee; }
th { background: #fafafa; position: sticky; top: 0; }
td.msg { max-width: 560px; word-break: break-word; }
.o { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; white-space: nowrap; border: 1px solid #ccc; }
.o-passed { background: #e6f4ea; color: var(--ok); border-color: #a8dab5; }
.o-failed, .o-error { background: #fce8e6; color: var(--bad); border-color: #f4b4ae; }
.o-warning, .o-xfail { background: #fef7e0; color: var(--warn); border-color: #f3d28b; }
.o-expected-failure { background: #f3e8fd; color: #6a1b9a; border-color: #d7b8f3; }
.o-not-judged, .o-not-exercised, .o-skipped { background: #f1f3f4; color: var(--muted); }
.filters { display: flex; gap: 16px; align-items: center; margin: 8px 0; flex-wrap: wrap; }
.case { border: 1px solid #ddd; border-radius: 6px; margin: 12px 0; padding: 0; }
.case > summary { padding: 8px 12px; cursor: pointer; background: #fafafa; border-radius: 6px; }
.case[open] > summary { border-bottom: 1px solid #ddd; border-radius: 6px 6px 0 0; }
.case .body { padding: 4px 12px 12px; }
.case:target { outline: 3px solid #1a73e8; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }
.params td:first-child { white-space: nowrap; color: var(--muted); }
.strip { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.strip .arrow { align-self: center; color: var(--muted); font-size: 18px; }
figure { margin: 0; width: 176px; }
.checker { width: 136px; height: 136px; display: flex; align-items: center; justify-content: center; border: 1px solid #ccc;
  background-color: #fff; background-image: linear-gradient(45deg, #ccc 25%, transparent 25%), linear-gradient(-45deg, #ccc 25%, transparent 25%),
  linear-gradient(45deg, transparent 75%, #ccc 75%), linear-gradient(-45deg, transparent 75%, #ccc 75%);
  background-size: 16px 16px; background-position: 0 0, 0 8px, 8px -8px, -8px 0; }
.checker img { max-width: 128px; max-height: 128px; display: block; }
.noimg { padding: 8px; font-size: 12px; color: var(--bad); background: #fff; text-align: center; word-break: break-word; }
figcaption { font-size: 12px; margin-top: 4px; word-break: break-word; }
.asked { background: #e8f0fe; border: 1px solid #c6dafc; border-radius: 6px; padding: 6px 10px; margin: 6px 0; font-size: 13px; }
.muted { color: var(--muted); }
.gating { color: var(--bad); font-weight: 600; }
"""

_SCRIPT = """
(function () {
  var outcome = document.getElementById('f-outcome');
  var feature = document.getElementById('f-feature');
  var rows = document.querySelectorAll('#rules tbody tr');
  function apply() {
    var o = outcome.value, f = feature.value, shown = 0;
    rows.forEach(function (tr) {
      var ok = (!o || tr.dataset.outcome === o) &&
        (!f || (' ' + tr.dataset.features + ' ').indexOf(' ' + f + ' ') >= 0);
      tr.hidden = !ok;
      if (ok) { shown++; }
    });
    document.getElementById('f-count').textContent = shown + ' of ' + rows.length + ' rules';
  }
  outcome.addEventListener('change', apply);
  feature.addEventListener('change', apply);
  apply();
})();
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)
"""The page's Content-Security-Policy: no network load of any kind, no other script."""


def _e(value: Any) -> str:
    """Escaped text of any value (None: empty)."""
    return "" if value is None else escape(str(value), quote=True)


def _outcome(name: Any) -> str:
    name = str(name or "unknown")
    css = re.sub(r"[^a-z0-9-]", "", name.lower())
    return f'<span class="o o-{css}">{_e(name)}</span>'


def _ordered(outcomes: Iterable[str]) -> list[str]:
    seen = set(outcomes)
    return [o for o in OUTCOME_ORDER if o in seen] + sorted(seen - set(OUTCOME_ORDER))


def _cases(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    cases = report.get("tests")
    if not isinstance(cases, list):
        cases = report.get("cases")
    return [c for c in cases if isinstance(c, Mapping)] if isinstance(cases, list) else []


def _case_name(case: Mapping[str, Any]) -> str:
    return str(case.get("nodeid") or case.get("id") or case.get("name") or "case")


def _evidence(case: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    ev = case.get("evidence")
    return [e for e in ev if isinstance(e, Mapping)] if isinstance(ev, list) else []


def _source(rule: Mapping[str, Any]) -> str:
    if rule.get("source"):
        return str(rule["source"])
    known = RULES.get(str(rule.get("id")))
    return known.source if known is not None else "suite"


# -- the top -------------------------------------------------------------------------------
def verdict_sentence(report: Mapping[str, Any]) -> str:
    """The verdict and why, in one sentence."""
    verdict = report.get("verdict") or {}
    status = str(verdict.get("status") or "unknown")
    code = verdict.get("exit_code")
    message = verdict.get("message")
    counts = report.get("counts") or {}
    if verdict.get("conformant"):
        why = "every gating rule the run exercised passed"
        if counts.get("not-exercised"):
            why += f" ({counts['not-exercised']} rule(s) not exercised)"
    else:
        why = str(message or "see the failed rules below")
    text = f"{status.capitalize()}: {why}"
    return text + (f" (exit code {code})." if code is not None else ".")


def _header(report: Mapping[str, Any]) -> list[str]:
    verdict = report.get("verdict") or {}
    target = report.get("target") or {}
    run = report.get("run") or {}
    suite = report.get("suite") or {}
    cost = report.get("cost") or {}
    status = str(verdict.get("status") or "")
    kind = "ok" if verdict.get("conformant") else ("bad" if status == "non-conformant" else "error")
    counts = report.get("counts") or {}
    out = [
        "<h1>images-conformance report</h1>",
        f'<p class="verdict {kind}" id="verdict">{_e(verdict_sentence(report))}</p>',
        '<ul class="counts" id="counts">',
    ]
    for name in _ordered(str(k) for k in counts):
        out.append(f"<li><b>{_e(counts.get(name, 0))}</b>{_outcome(name)}</li>")
    out.append("</ul>")
    base = target.get("base_url") or (
        "embedded reference server" if target.get("embedded") else None
    )
    seed = run.get("seed")
    meta = [
        ("target", base),
        ("profile", target.get("profile")),
        ("edition", target.get("edition")),
        ("level", run.get("level")),
        ("strict", {True: "on", False: "off"}.get(run.get("strict"))),
        ("seed", seed),
        ("suite version", suite.get("version")),
        ("time", " → ".join(str(t) for t in (run.get("started"), run.get("finished")) if t)),
        (
            "duration",
            f"{run['duration_s']:.1f} s"
            if isinstance(run.get("duration_s"), (int, float))
            else None,
        ),
        ("billable generations", cost.get("billable_generations")),
        ("requests", cost.get("requests")),
    ]
    out.append('<dl class="meta">')
    for label, value in meta:
        shown = _e(value) if value not in (None, "") else '<span class="muted">unknown</span>'
        out.append(f"<div><dt>{_e(label)}</dt><dd>{shown}</dd></div>")
    out.append("</dl>")
    return out


# -- the rule table ------------------------------------------------------------------------
def _anchors(report: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Rule id -> the anchor of the case that best shows it; rule id -> features of its cases."""
    best: dict[str, tuple[int, str]] = {}
    features: dict[str, set[str]] = {}
    for i, case in enumerate(_cases(report)):
        anchor = f"case-{i}"
        evidence = _evidence(case)
        named = {
            str(f.get("rule"))
            for e in evidence
            for f in (e.get("findings") or [])
            if isinstance(f, Mapping)
        }
        failed = str(case.get("status")) in _BAD
        for rule in case.get("rules") or []:
            rule = str(rule)
            features.setdefault(rule, set()).update(str(f) for f in case.get("features") or [])
            if rule in named:
                rank = 0
            elif failed:
                rank = 1
            elif evidence:
                rank = 2
            else:
                continue
            if rule not in best or rank < best[rule][0]:
                best[rule] = (rank, anchor)
        for rule in named - {str(r) for r in case.get("rules") or []}:
            if rule not in best:
                best[rule] = (0, anchor)
    return {rule: anchor for rule, (_rank, anchor) in best.items()}, features


def _rule_table(report: Mapping[str, Any]) -> list[str]:
    rules = [r for r in report.get("rules") or [] if isinstance(r, Mapping)]
    anchors, case_features = _anchors(report)
    all_features: set[str] = set()
    rows = []
    for r in rules:
        rule_id = str(r.get("id"))
        feats = set(case_features.get(rule_id, set()))
        if r.get("feature"):
            feats.add(str(r["feature"]))
        feats.add(f"kind:{rule_id.split('.', 1)[0]}")
        all_features |= feats
        outcome = str(r.get("outcome") or "unknown")
        note = r.get("first_failure") if r.get("first_failure") else r.get("reason")
        anchor = anchors.get(rule_id)
        name = f'<a href="#{anchor}">{_e(rule_id)}</a>' if anchor else _e(rule_id)
        rows.append(
            f'<tr data-outcome="{_e(outcome)}" data-features="{_e(" ".join(sorted(feats)))}">'
            f"<td><code>{name}</code></td><td>{_e(r.get('level'))}</td><td>{_e(_source(r))}</td>"
            f'<td>{_outcome(outcome)}</td><td class="msg">{_e(_short(note, 400))}</td></tr>'
        )
    outcomes = _ordered({str(r.get("outcome") or "unknown") for r in rules})
    out = [
        '<h2 id="rules-title">Rules</h2>',
        '<div class="filters"><label>outcome <select id="f-outcome"><option value="">all</option>',
        *(f'<option value="{_e(o)}">{_e(o)}</option>' for o in outcomes),
        '</select></label><label>feature <select id="f-feature"><option value="">all</option>',
        *(f'<option value="{_e(f)}">{_e(f)}</option>' for f in sorted(all_features)),
        '</select></label><span id="f-count" class="muted"></span></div>',
        '<table id="rules"><thead><tr><th>rule</th><th>level</th><th>source</th><th>outcome</th>'
        "<th>first finding</th></tr></thead><tbody>",
        *rows,
        "</tbody></table>",
    ]
    return out


def _short(text: Any, limit: int) -> str:
    s = " ".join(str(text if text is not None else "").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


# -- the evidence --------------------------------------------------------------------------
def _image(img: Mapping[str, Any]) -> str:
    thumb = img.get("thumbnail")
    if isinstance(thumb, str) and _DATA_URI.fullmatch(thumb):
        alt = f"{img.get('label')}: {img.get('format')} {img.get('width')}x{img.get('height')}"
        inner = f'<img src="{thumb}" alt="{_e(alt)}">'
    else:
        inner = f'<div class="noimg">{_e(img.get("error") or "no image")}</div>'
    facts = []
    if img.get("format") or img.get("width"):
        size = f"{img.get('width')}x{img.get('height')}" if img.get("width") else ""
        facts.append(" ".join(x for x in (str(img.get("format") or "?"), size) if x))
    if img.get("transparent") is not None:
        facts.append("transparent pixels: " + ("yes" if img.get("transparent") else "no"))
    if img.get("bytes") is not None:
        facts.append(f"{img.get('bytes')} bytes")
    if img.get("thumbnail") and img.get("error"):
        facts.append(str(img.get("error")))
    head = f"<b>{_e(img.get('label'))}</b>"
    if img.get("event"):
        head += f' <span class="mono">{_e(img.get("event"))}</span>'
    caption = head + "<br>" + "<br>".join(_e(f) for f in facts)
    return f'<figure class="thumb"><div class="checker">{inner}</div><figcaption>{caption}</figcaption></figure>'


def _asked(asked: Mapping[str, Any]) -> str:
    if not asked:
        return '<div class="asked">asked: <span class="muted">nothing said about the images</span></div>'
    parts = ", ".join(f"{_e(k)} <b>{_e(v)}</b>" for k, v in asked.items())
    return f'<div class="asked">asked: {parts}</div>'


def _evidence_block(ev: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    if ev.get("what"):
        out.append(f"<p>{_e(ev['what'])}</p>")
    if ev.get("problem"):
        out.append(f'<p class="gating">{_e(ev["problem"])}</p>')
    req = ev.get("request") or {}
    res = ev.get("response") or {}
    findings = [f for f in ev.get("findings") or [] if isinstance(f, Mapping)]
    if findings:
        out.append(
            "<h4>findings</h4><table><thead><tr><th>rule</th><th>level</th><th>source</th>"
            "<th>gating</th><th>message</th></tr></thead><tbody>"
        )
        for f in findings:
            gating = {True: '<span class="gating">yes</span>', False: "no"}.get(f.get("gating"), "")
            out.append(
                f"<tr><td><code>{_e(f.get('rule'))}</code></td><td>{_e(f.get('level'))}</td>"
                f'<td>{_e(f.get("source"))}</td><td>{gating}</td><td class="msg">{_e(f.get("message"))}</td></tr>'
            )
        out.append("</tbody></table>")
    images = [i for i in ev.get("images") or [] if isinstance(i, Mapping)]
    served = isinstance(res.get("status"), int) and 200 <= res["status"] < 300
    if images or served:
        out.append("<h4>images</h4>")
        out.append(_asked(ev.get("asked") or {}))
    if images:
        stream = any(i.get("origin") == "stream" for i in images)
        joiner = '<span class="arrow">→</span>' if stream else ""
        out.append('<div class="strip">' + joiner.join(_image(i) for i in images) + "</div>")
        if ev.get("images_left_out"):
            out.append(f'<p class="muted">{_e(ev["images_left_out"])} more image(s) not shown</p>')
    elif served:
        out.append('<p class="muted">no image in the answer</p>')
    out.append('<div class="cols"><div>')
    out.append(
        f'<h4>what was asked</h4><p class="mono">{_e(req.get("method"))} {_e(req.get("url"))}</p>'
    )
    params = req.get("params")
    if isinstance(params, list):
        out.append('<table class="params"><tbody>')
        for row in params:
            if isinstance(row, (list, tuple)) and len(row) == 2:
                out.append(f"<tr><td>{_e(row[0])}</td><td><code>{_e(row[1])}</code></td></tr>")
        out.append("</tbody></table>")
    elif req.get("body") is not None:
        out.append(
            f'<p class="muted">the body is not a JSON object:</p><pre>{_e(req.get("body"))}</pre>'
        )
    if req.get("curl"):
        out.append(f"<details open><summary>curl</summary><pre>{_e(req['curl'])}</pre></details>")
    out.append("</div><div><h4>what came back</h4>")
    if res.get("status") is None:
        out.append(f'<p class="gating">no answer: {_e(res.get("error"))}</p>')
    else:
        line = f"HTTP {_e(res.get('status'))} · {_e(res.get('content_type') or 'no content-type')} · {_e(res.get('bytes'))} bytes"
        if res.get("truncated"):
            line += " (cut at the size cap)"
        if res.get("elapsed_s") is not None:
            line += f" · {_e(res.get('elapsed_s'))} s"
        out.append(f'<p class="mono">{line}</p>')
        if res.get("error"):
            out.append(f'<p class="gating">{_e(res.get("error"))}</p>')
        out.append(f"<pre>{_e(res.get('body') or '(empty body)')}</pre>")
    out.append("</div></div>")
    return out


def _case_block(i: int, case: Mapping[str, Any]) -> list[str]:
    status = str(case.get("status") or "unknown")
    evidence = _evidence(case)
    opened = " open" if status in _BAD else ""
    out = [
        f'<details class="case" id="case-{i}" data-status="{_e(status)}"{opened}>',
        f"<summary><h3>{_e(_case_name(case))}</h3> {_outcome(status)}</summary>",
        '<div class="body">',
    ]
    rules = case.get("rules") or []
    if rules:
        out.append(f'<p class="muted">rules: {_e(", ".join(str(r) for r in rules))}</p>')
    if case.get("reason"):
        out.append(f"<p>{_e(case['reason'])}</p>")
    if case.get("failure") and status in _BAD:
        out.append(
            f"<details><summary>failure message</summary><pre>{_e(case['failure'])}</pre></details>"
        )
    for ev in evidence:
        out.extend(_evidence_block(ev))
    if not evidence:
        out.append('<p class="muted">no exchange recorded</p>')
    out.append("</div></details>")
    return out


def _cases_section(report: Mapping[str, Any]) -> list[str]:
    cases = list(enumerate(_cases(report)))
    shown = [(i, c) for i, c in cases if _evidence(c) or str(c.get("status")) in _BAD]
    rank = {"failed": 0, "error": 0, "xfail": 1}
    shown.sort(key=lambda ic: (rank.get(str(ic[1].get("status")), 2), ic[0]))
    out = ['<h2 id="evidence">Evidence</h2>']
    if not shown:
        out.append('<p class="muted">no exchange recorded in this report</p>')
    for i, case in shown:
        out.extend(_case_block(i, case))
    return out


def render_html(report: Mapping[str, Any]) -> str:
    """The report as the text of one self-contained HTML file (see the module docstring)."""
    verdict = report.get("verdict") or {}
    title = f"images-conformance: {verdict.get('status') or 'report'}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head>',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        *_header(report),
        *_rule_table(report),
        *_cases_section(report),
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
        "",
    ]
    return "\n".join(parts)
