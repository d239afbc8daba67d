"""The Python runner's internals (docs/worker-protocol.md, "The Python runner"). Not a public API."""
