"""Reading and checking stack.yaml: load (positions, ${VAR}), schema, meaning."""
