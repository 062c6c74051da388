-- The publication a logical replica subscribes to (docs/scale-out.md "Logical replicas"):
-- the metadata, its history with the feed's head, the dependency edges, the type registry
-- and the installed packages; here also the test's own item lists.
CREATE PUBLICATION metadata FOR TABLE
    metadata.sys_metadata_type, metadata.sys_metadata, metadata.sys_metadata_history,
    metadata.sys_metadata_feed, metadata.sys_metadata_reference, metadata.sys_metadata_package,
    standby_test.items, standby_test.objects;
