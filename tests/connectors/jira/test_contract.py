"""The Jira connector passes the shared connector contract against its simulator."""

from connectors.jira import JiraConnector
from tests.contract.suite import contract_tests

TestJiraContract = contract_tests(JiraConnector, container="MKT")
