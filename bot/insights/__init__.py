"""What the feedback adds up to: reports, their statistics, cells and tables, weekly
digests and charts."""
