"""The lake's schema version, apart from the Arrow schemas so that code without pyarrow
(key building in the API and tagging functions) can read it."""

# Bump with any change to seglift.lake.schema; it is part of every lake key.
LAKE_SCHEMA_VERSION = 1
