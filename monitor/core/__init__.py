"""The pure core: decisions from (state, event, pack), no I/O, no clock."""
