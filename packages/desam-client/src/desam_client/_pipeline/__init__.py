"""The call pipeline: hooks, auth, retries and deadlines around the transport."""
