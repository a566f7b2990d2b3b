"""The report model: per-rule outcomes, the verdict, baselines, and the renderers (terminal, JSON, Markdown, HTML)."""
