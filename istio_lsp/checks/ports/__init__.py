"""Ports: the ports routes name against those Services expose, and how ports are named, one module per check."""
