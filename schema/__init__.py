"""Strawberry types, inputs and enums of the GraphQL API, one module per domain."""
