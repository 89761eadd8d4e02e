"""Measuring the judgments: metrics, labelled rows through scorers, reports against gold."""
