"""References between resources: hosts, subsets, Gateways and the workloads behind them, one module per check."""
