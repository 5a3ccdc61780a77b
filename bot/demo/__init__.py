"""`cxbot demo`: a simulated quarter through the console adapter."""
