"""The GitHub connector passes the shared connector contract against its simulator."""

from connectors.github import GitHubConnector
from tests.contract.suite import contract_tests

TestGitHubContract = contract_tests(GitHubConnector, container="acme/app")
