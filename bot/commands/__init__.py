"""The chat commands (`help`, `log`, `report`, `optout`, ...): parsing and routing."""
