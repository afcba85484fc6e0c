"""Credit models: training, artifacts, request-path scorers and reason codes."""
