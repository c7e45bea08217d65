"""Selectors: Services, policies and Gateways whose label selectors pick none of the workspace's pods."""
