"""Tool connectors shipped with okrbridge, one package per tool."""
