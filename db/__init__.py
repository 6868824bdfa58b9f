"""Tortoise models and data-access functions, one module per domain."""
