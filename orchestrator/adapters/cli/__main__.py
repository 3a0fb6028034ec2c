"""`python -m orchestrator.adapters.cli`: the same CLI as the `dgx-pixels` script."""

from __future__ import annotations

from orchestrator.adapters.cli.app import main

main()
