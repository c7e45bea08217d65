"""Security: TLS settings that leave a server unverified, and policies that cannot hold, one module per check."""
