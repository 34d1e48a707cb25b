"""`python -m nlp_core COMMAND ...` and the `nlp-core` script."""
import sys
from typing import List

# Commands that never use torch. thinc imports torch on import whenever it is installed
# (1-2 s of every start on a busy 2-core machine, ~180 MiB of RSS); for these commands
# the entry point makes torch unimportable first, and thinc runs without it as on a
# CNN-only install. `init vectors` and `display` have no --code option, so no user code
# can need it.
TORCH_FREE_COMMANDS = (("init", "vectors"), ("display",))


def block_unused_torch(argv: List[str]) -> bool:
    """Make `import torch` fail in this process when `argv` runs a torch-free command and
    torch is not imported yet. Returns whether it did."""
    if any(tuple(argv[1:1 + len(c)]) == c for c in TORCH_FREE_COMMANDS) and \
            "torch" not in sys.modules:
        sys.modules["torch"] = None  # type: ignore[assignment]  (import torch -> ImportError)
        return True
    return False


def run() -> None:
    block_unused_torch(sys.argv)
    # the commands import thinc: only after the decision above
    from .cli import main

    main()


if __name__ == "__main__":
    run()
