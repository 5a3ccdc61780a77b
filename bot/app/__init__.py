"""Start-up wiring: the runtime, `cxbot serve`, the periodic jobs, logging, the config sync."""
