"""`python -m tests.support.cli_with_memory ARGS`: the real CLI with the memory connector
registered, for tests that run (and kill) `okrbridge sync` in a subprocess."""

from okrbridge.cli import main
from okrbridge.connector.registry import default_registry
from tests.support.memory import MemoryConnector

if __name__ == "__main__":
    default_registry().register(MemoryConnector)
    main()
