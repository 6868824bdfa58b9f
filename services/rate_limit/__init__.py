"""Shared, cost-based rate limits: where budgets are kept and how a process spends them."""
