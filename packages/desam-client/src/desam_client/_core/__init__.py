"""The sans-I/O core: RPC descriptions, validation, conversion and error mapping. No network here."""
