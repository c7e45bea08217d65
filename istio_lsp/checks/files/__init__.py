"""The files themselves: YAML that does not parse, files not analysed, project configuration, suppressions."""
