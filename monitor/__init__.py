"""AML transaction monitor: the pure rule core (`core`), its I/O adapters (`io`), the tools."""
