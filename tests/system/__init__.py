"""System tests: real `cxbot serve` processes on PostgreSQL against the fake Slack Web API."""
