"""CSV exports of a segment's members (Arrow; only for functions with the Arrow layer)."""
