"""`python -m orchestrator.adapters.cli`: the same CLI as the `dgx-pixels` script."""

from __future__ import annotations

from orchestrator.adapters.cli.app import main

if __name__ == "__main__":  # importing the module (package walks) must not run the CLI
    main()
