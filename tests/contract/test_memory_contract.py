"""The reference memory connector passes the contract suite (this proves the suite itself)."""

from tests.contract.suite import contract_tests
from tests.support.memory import MemoryConnector

TestMemoryContract = contract_tests(MemoryConnector, container="MKT")
