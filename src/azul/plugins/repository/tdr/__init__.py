"""
Repositories in the Terra Data Repository (TDR): a snapshot is a BigQuery
dataset whose tables hold the metadata rows that bundles are built from.
`spec` is the source spec grammar, `bigquery` the client seam, and
`local_bigquery` a small stand-in for the BigQuery REST API for tests and
`make run`.
"""
