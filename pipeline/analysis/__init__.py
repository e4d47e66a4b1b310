"""Analysis of evaluation answers: measures, figures and the report (no model calls)."""
