"""A small reference tool ("memory"): an HTTP simulator plus its connector, used to prove the
sync pipeline and the shared contract suite independently of any real tool."""

from tests.support.memory.connector import MemoryConnector, MemorySettings
from tests.support.memory.tool import MemoryTool

__all__ = ["MemoryConnector", "MemorySettings", "MemoryTool"]
