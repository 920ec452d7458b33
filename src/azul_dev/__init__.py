"""
Tools for developing and demonstrating Azul that a deployed function never
runs: the synthetic catalog generator (`azul synth`, the demo of `azul run`,
the tests' catalogs) and the documents of the backend benchmarks.

Kept out of the `azul` package so that the Lambda package, which is built
from `azul` alone (`azul.deploy.package`), cannot come to depend on it.
Depends on `azul`, never the other way round.
"""
