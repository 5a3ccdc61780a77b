"""The HTTP API (`/api/v1`), its OpenAPI document, `/healthz` and `/metrics`."""
