"""spark-jobserver's Python job API, as sjs runs it: see sparkjobserver.api and docs/python.md."""
