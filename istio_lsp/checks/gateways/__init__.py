"""Gateways and what they serve: hosts, ports and servers a VirtualService is bound to, one module per check."""
