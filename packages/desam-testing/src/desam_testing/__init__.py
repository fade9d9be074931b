"""DeSAM testing tools."""
