"""The Trello connector passes the shared connector contract against its simulator."""

from connectors.trello import TrelloConnector
from connectors.trello.simulator.handle import DEFAULT_BOARD
from tests.contract.suite import contract_tests

TestTrelloContract = contract_tests(TrelloConnector, container=DEFAULT_BOARD)
