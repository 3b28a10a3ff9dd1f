"""Synthetic enterprise fleet and telemetry lake (the brief's 00_init_db and 01_generate_master_parquet)."""

from python_engines.synthetic.catalog import GeneratorInputError
from python_engines.synthetic.generator import (
    GenerationResult,
    GeneratorAuditError,
    GeneratorConfig,
    generate,
)

__all__ = ["GenerationResult", "GeneratorAuditError", "GeneratorConfig", "GeneratorInputError", "generate"]
