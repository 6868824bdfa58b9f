"""Thin root resolvers per domain: authorise, call db/ (or ml/), map to API types."""
