"""EnvoyFilters: patches whose effect depends on what else is applied, or that do not do what they say,
one module per check."""
