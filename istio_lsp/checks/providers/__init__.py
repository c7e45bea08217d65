"""Extension providers: what Telemetry and CUSTOM AuthorizationPolicies name against the mesh configuration the
workspace holds (`_mesh.py`), one module per check."""
